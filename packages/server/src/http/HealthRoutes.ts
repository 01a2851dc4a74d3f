/**
 * Liveness and readiness: `/health` (the process answers), `/health/db` (the
 * database answers, with its round trip) and `/ready` (take traffic or not).
 * They are open to anyone who can reach the port, so they say up or down and
 * nothing about where the database is: no host, port, name or driver error
 * (which quotes the address). The error goes to the log instead.
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
    const describeDatabase = { kind: database.kind }
    const unavailable = (error: { readonly message: string }) =>
      Effect.logWarning("database health check failed", { error: error.message })

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
          unavailable(error).pipe(
            Effect.as(
              HttpServerResponse.jsonUnsafe(
                { status: "unavailable", database: describeDatabase, error: "the database does not answer" },
                { status: 503 }
              )
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
            unavailable(error).pipe(
              Effect.as(
                HttpServerResponse.jsonUnsafe(
                  { status: "database unavailable", error: "the database does not answer" },
                  { status: 503 }
                )
              )
            )
          )
        )
      })
    )
  })
).pipe(Layer.provide(Lifecycle.layer))
