/**
 * `/health/db` and `/ready` are open to anyone who reaches the port: they say
 * up or down, never where the database is (host, port, name) nor the driver's
 * error, which quotes the address.
 */
import { Database } from "@botfleet/adapters/postgres"
import { assert, describe, it, layer } from "@effect/vitest"
import { Effect, Layer, Redacted } from "effect"
import { HttpRouter, HttpServer } from "effect/http"
import { HealthRoutes } from "../src/http/HealthRoutes.ts"
import { layer as serverLayer, TestServer } from "./support/inProcessServer.ts"

layer(serverLayer(), { timeout: 60_000, excludeTestServices: true })("/health/db, database up", (it) => {
  it.effect("says ok and the kind, with no host, port or database name", () =>
    Effect.gen(function* () {
      const server = yield* TestServer
      const response = yield* Effect.promise(() => fetch(`${server.baseUrl}/health/db`))
      const text = yield* Effect.promise(() => response.text())
      assert.strictEqual(response.status, 200)
      const body = JSON.parse(text) as Record<string, unknown>
      assert.deepStrictEqual(Object.keys(body).sort(), ["database", "roundTripMs", "status"])
      assert.deepStrictEqual(body.database, { kind: "external" })
      // Where the test database is, as PostgreSQL itself says.
      const [where] = yield* server.sql<{ name: string; port: number }>`
        SELECT current_database() AS name, inet_server_port() AS port`.pipe(Effect.orDie)
      assert.isDefined(where)
      assert.notInclude(text, where!.name)
      assert.notInclude(text, `${where!.port}`)
      for (const host of ["127.0.0.1", "localhost", "::1"]) assert.notInclude(text, host)
    })
  )
})

const PRIVATE = { host: "db-internal.corp.example", port: 6543, database: "fleet_prod_secret" }

/** The health routes on a database that refuses, as the driver words it. */
const downHandler = () =>
  HttpRouter.toWebHandler(
    HealthRoutes.pipe(
      Layer.provide(
        Layer.succeed(
          Database.DatabaseInfo,
          Database.DatabaseInfo.of({
            kind: "external",
            ...PRIVATE,
            url: Redacted.make(`postgres://u:p@${PRIVATE.host}:${PRIVATE.port}/${PRIVATE.database}`),
            ping: Effect.fail(
              new Database.DatabaseUnavailable({
                message: `connect ECONNREFUSED ${PRIVATE.host}:${PRIVATE.port} (database "${PRIVATE.database}")`
              })
            )
          })
        )
      ),
      Layer.provide(HttpServer.layerServices)
    ),
    { disableLogger: true }
  )

describe("/health/db and /ready, database down", () => {
  it("503 saying so, with no host, port, database name or driver error", async () => {
    const app = downHandler()
    try {
      for (const path of ["/health/db", "/ready"]) {
        const response = await app.handler(new Request(`http://localhost${path}`))
        const text = await response.text()
        assert.strictEqual(response.status, 503, path)
        for (const secret of [PRIVATE.host, String(PRIVATE.port), PRIVATE.database, "ECONNREFUSED"]) {
          assert.notInclude(text, secret, `${path}: ${text}`)
        }
        assert.include(text, "the database does not answer")
      }
    } finally {
      await app.dispose()
    }
  })
})
