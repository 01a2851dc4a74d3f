/**
 * Liveness and readiness: `/health` (the process answers), `/health/db` (the
 * database answers, with its round trip) and `/ready` (take traffic or not).
 */
import { Database } from "@botfleet/adapters/postgres"
import { Effect, Layer } from "effect"
import { HttpRouter, HttpServerResponse } from "effect/http"
import { version } from "../version.ts"
import { Lifecycle } from "./Lifecycle.ts"

export const HealthRoutes = HttpRouter.use(
  Effect.fn(function* (router) {
    const lifecycle = yield* Lifecycle
    const database = yield* Database.DatabaseInfo
    const describeDatabase = {
      kind: database.kind,
      host: database.host,
      port: database.port,
      name: database.database
    }

    yield* router.add(
      "GET",
      "/health",
      Effect.sync(() =>
        HttpServerResponse.jsonUnsafe({
          status: "ok",
          version,
          uptimeSeconds: Math.round((Date.now() - lifecycle.startedAt) / 1000)
        })
      )
    )

    yield* router.add(
      "GET",
      "/health/db",
      database.ping.pipe(
        Effect.map((roundTripMs) =>
          HttpServerResponse.jsonUnsafe({ status: "ok", database: describeDatabase, roundTripMs })
        ),
        Effect.catch((error) =>
          Effect.succeed(
            HttpServerResponse.jsonUnsafe(
              { status: "unavailable", database: describeDatabase, error: error.message },
              { status: 503 }
            )
          )
        )
      )
    )

    yield* router.add(
      "GET",
      "/ready",
      Effect.gen(function* () {
        if (lifecycle.isShuttingDown()) {
          return HttpServerResponse.jsonUnsafe({ status: "shutting down" }, { status: 503 })
        }
        // Migrations ran before the routes existed; what is left is the database.
        return yield* database.ping.pipe(
          Effect.as(HttpServerResponse.jsonUnsafe({ status: "ready" })),
          Effect.catch((error) =>
            Effect.succeed(
              HttpServerResponse.jsonUnsafe(
                { status: "database unavailable", error: error.message },
                { status: 503 }
              )
            )
          )
        )
      })
    )
  })
).pipe(Layer.provide(Lifecycle.layer))
