/**
 * One session lookup per API request. The rate limit (which counts per
 * session) and the Authentication middleware both need the cookie's session;
 * the limit looks it up and the middleware takes its answer. Counted from the
 * spans the server exports: each lookup is one `AuthService.authenticate`.
 */
import { afterAll, assert, layer } from "@effect/vitest"
import { Effect, Option } from "effect"
import { loggedIn, unknownId, withAdmin } from "../support/apiClient.ts"
import { eventually, layer as serverLayer, TestServer } from "../support/inProcessServer.ts"
import { startOtlpReceiver } from "../support/otlpReceiver.ts"

const receiver = await startOtlpReceiver()
afterAll(() => receiver.close())

const lookups = () => receiver.spans.filter((span) => span.name === "AuthService.authenticate").length

layer(serverLayer(withAdmin({ otelTracesEndpoint: Option.some(receiver.url) })), {
  timeout: 60_000,
  excludeTestServices: true
})("session lookups", (it) => {
  it.effect("a request with a cookie reads its session once, valid or not", () =>
    Effect.gen(function* () {
      const server = yield* TestServer
      const api = yield* loggedIn(server.baseUrl)
      const before = lookups()
      for (const path of ["/api/bots", "/api/providers", "/api/auth/me"]) {
        const response = yield* api.get(path)
        assert.isBelow(response.status, 300, `${path}: ${response.text}`)
      }
      const stranger = yield* api.get("/api/bots", { headers: { cookie: "botfleet_session=not-a-session" } })
      assert.strictEqual(stranger.status, 401)
      // Spans are exported in the order they end: once the webhook's (after all four) is in, so
      // are the lookups'.
      const marker = yield* Effect.promise(() =>
        fetch(`${server.baseUrl}/telegram/webhook/${unknownId}`, { method: "POST", body: "{}" })
      )
      assert.strictEqual(marker.status, 404)
      yield* eventually(() => receiver.spans.some((span) => span.name === "Webhook.receive"), 15_000)
      assert.strictEqual(lookups() - before, 4, "one lookup for each of the four requests")
    })
  )
})
