/**
 * Admin API rate limits: headers on every /api answer, 429 with
 * Retry-After over the limit, /api/stats limited per admin, and counters in
 * PostgreSQL that two independent connection pools (two processes) share.
 */

import { Database } from "@botfleet/adapters/postgres"
import { serverUrl, TestDatabase } from "@botfleet/testing"
import { assert, layer } from "@effect/vitest"
import { Context, Effect, Layer } from "effect"
import { RateLimiter } from "../../src/api/RateLimiter.ts"
import * as RateLimiterSql from "../../src/api/RateLimiterSql.ts"
import { expectError, loggedIn, withAdmin } from "../support/apiClient.ts"
import { layer as serverLayer, TestServer } from "../support/inProcessServer.ts"

/** Windows are whole minutes: start a test well inside one, so its counts all land in the same window. */
const awayFromWindowEdge = Effect.promise(async () => {
  const left = 60_000 - (Date.now() % 60_000)
  if (left < 8_000) await new Promise((resolve) => setTimeout(resolve, left + 50))
})

const limits = withAdmin({ apiRateLimitPerMinute: 5, apiStatsRateLimitPerMinute: 2 })

layer(serverLayer(limits), { timeout: 60_000, excludeTestServices: true })("API rate limits", (it) => {
  it.effect(
    "every /api answer carries X-RateLimit-*; the 6th request in a minute is 429 with Retry-After",
    () =>
      Effect.gen(function* () {
        const server = yield* TestServer
        yield* awayFromWindowEdge
        const api = yield* loggedIn(server.baseUrl)
        const remaining: Array<string | null> = []
        for (let i = 0; i < 5; i++) {
          const response = yield* api.get("/api/bots")
          assert.strictEqual(response.status, 200)
          assert.strictEqual(response.headers.get("x-ratelimit-limit"), "5")
          assert.isAtMost(Number(response.headers.get("x-ratelimit-reset")), 60)
          remaining.push(response.headers.get("x-ratelimit-remaining"))
        }
        assert.deepStrictEqual(remaining, ["4", "3", "2", "1", "0"])
        const refused = yield* api.get("/api/bots")
        assert.match(expectError(refused, 429, "too_many_requests"), /try again in \d+ s/)
        const retryAfter = Number(refused.headers.get("retry-after"))
        assert.isTrue(retryAfter >= 1 && retryAfter <= 60, String(retryAfter))
        assert.strictEqual(refused.headers.get("x-ratelimit-remaining"), "0")
        // Another session has its own count.
        const other = yield* loggedIn(server.baseUrl)
        assert.strictEqual((yield* other.get("/api/bots")).status, 200)
      })
  )

  it.effect("/api/stats: 2 a minute per admin, whichever session asks", () =>
    Effect.gen(function* () {
      const server = yield* TestServer
      yield* awayFromWindowEdge
      const first = yield* loggedIn(server.baseUrl)
      const second = yield* loggedIn(server.baseUrl)
      const a = yield* first.get("/api/stats")
      assert.strictEqual(a.status, 200)
      assert.strictEqual(a.headers.get("x-ratelimit-limit"), "2")
      assert.strictEqual(a.headers.get("x-ratelimit-remaining"), "1")
      assert.strictEqual((yield* second.get("/api/stats")).status, 200)
      expectError(yield* first.get("/api/stats"), 429, "too_many_requests")
      expectError(yield* second.get("/api/stats"), 429, "too_many_requests")
      // Other routes are still open to that admin.
      assert.strictEqual((yield* second.get("/api/bots")).status, 200)
    })
  )

  it.effect("requests without a session are counted per address and still get the headers", () =>
    Effect.gen(function* () {
      const server = yield* TestServer
      const response = yield* Effect.promise(() => fetch(`${server.baseUrl}/api/bots`))
      assert.strictEqual(response.status, 401)
      assert.strictEqual(response.headers.get("x-ratelimit-limit"), "5")
    })
  )
})

const twoPools = Layer.unwrap(
  Effect.gen(function* () {
    const db = yield* TestDatabase.TestDatabase
    const pool = () => RateLimiterSql.layer.pipe(Layer.provide(Database.layerAt(db.url)))
    return Layer.effectContext(
      Effect.gen(function* () {
        const one = Context.get(yield* Layer.build(pool()), RateLimiter)
        const two = Context.get(yield* Layer.build(pool()), RateLimiter)
        return Context.make(TwoLimiters, { one, two })
      })
    )
  })
).pipe(Layer.provide(TestDatabase.layer(serverUrl(), Database.layerAt)), Layer.orDie)

class TwoLimiters extends Context.Service<
  TwoLimiters,
  { readonly one: RateLimiter["Service"]; readonly two: RateLimiter["Service"] }
>()("test/TwoLimiters") {}

layer(twoPools, { timeout: 60_000, excludeTestServices: true })("API rate limits across processes", (it) => {
  it.effect("two pools share one count: 100 hits at once with a limit of 30, exactly 30 allowed", () =>
    Effect.gen(function* () {
      const { one, two } = yield* TwoLimiters
      yield* awayFromWindowEdge
      const limit = { max: 30, windowMs: 60_000 }
      const states = yield* Effect.forEach(
        Array.from({ length: 100 }, (_, i) => (i % 2 === 0 ? one : two)),
        (limiter) => limiter.hit("api:shared", limit),
        { concurrency: 20 }
      )
      assert.strictEqual(states.filter((state) => state.allowed).length, 30)
      const seen = yield* two.check("api:shared", limit)
      assert.deepStrictEqual([seen.allowed, seen.remaining], [false, 0])
      yield* one.reset("api:shared")
      assert.strictEqual((yield* two.check("api:shared", limit)).remaining, 30)
    })
  )
})
