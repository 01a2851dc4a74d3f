/**
 * HSTS: `Strict-Transport-Security: max-age=31536000` on every answer when
 * PUBLIC_URL is https or a trusted proxy says the request came over https;
 * never over plain http, and never because a client claims https itself.
 */
import { assert, layer } from "@effect/vitest"
import { Effect, Option } from "effect"
import { makeClient, withAdmin } from "../support/apiClient.ts"
import { layer as serverLayer, TestServer } from "../support/inProcessServer.ts"

const HSTS = "strict-transport-security"
const viaHttps = { headers: { "x-forwarded-proto": "https" } }

layer(serverLayer(withAdmin({ publicUrl: Option.some(new URL("https://bots.example")) })), {
  timeout: 60_000,
  excludeTestServices: true
})("HSTS with an https PUBLIC_URL", (it) => {
  it.effect("every answer carries it: a page, an API error, an unknown route, a refused origin", () =>
    Effect.gen(function* () {
      const server = yield* TestServer
      const client = makeClient(server.baseUrl)
      for (const response of [
        yield* client.get("/health"),
        yield* client.get("/api/bots"),
        yield* client.get("/no/such/route"),
        yield* client.post("/api/auth/logout", undefined, { headers: { origin: "https://evil.example" } })
      ]) {
        assert.strictEqual(response.headers.get(HSTS), "max-age=31536000", String(response.status))
      }
    })
  )
})

layer(serverLayer(withAdmin({ trustProxy: ["127.0.0.1"] })), { timeout: 60_000, excludeTestServices: true })(
  "HSTS behind a trusted proxy (PUBLIC_URL over http)",
  (it) => {
    it.effect("sent when the proxy says https, not when it says http or says nothing", () =>
      Effect.gen(function* () {
        const client = makeClient((yield* TestServer).baseUrl)
        assert.strictEqual((yield* client.get("/health", viaHttps)).headers.get(HSTS), "max-age=31536000")
        assert.isNull(
          (yield* client.get("/health", { headers: { "x-forwarded-proto": "http" } })).headers.get(HSTS)
        )
        assert.isNull((yield* client.get("/health")).headers.get(HSTS))
      })
    )
  }
)

layer(serverLayer(withAdmin()), { timeout: 60_000, excludeTestServices: true })(
  "HSTS over plain http without a trusted proxy",
  (it) => {
    it.effect("never sent, even when the client claims https itself", () =>
      Effect.gen(function* () {
        const client = makeClient((yield* TestServer).baseUrl)
        assert.isNull((yield* client.get("/health")).headers.get(HSTS))
        assert.isNull((yield* client.get("/health", viaHttps)).headers.get(HSTS))
      })
    )
  }
)
