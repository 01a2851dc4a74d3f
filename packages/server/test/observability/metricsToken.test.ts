/**
 * METRICS_TOKEN: when set, `/metrics` answers only `Authorization: Bearer
 * <token>`; anything else is a 401 in the contract's error shape, and the
 * token is in no response. (Unset, /metrics stays open: metrics.test.ts.)
 */
import { assert, describe, it, layer } from "@effect/vitest"
import { Effect, Option, Redacted } from "effect"
import { bearerMatches } from "../../src/observability/MetricsRoutes.ts"
import { layer as serverLayer, TestServer } from "../support/inProcessServer.ts"

const TOKEN = "metrics-4b8e1f0c9a7d6e5f3a2b1c0d"

const scrape = (baseUrl: string, authorization?: string) =>
  Effect.promise(async () => {
    const response = await fetch(`${baseUrl}/metrics`, {
      headers: authorization === undefined ? {} : { authorization }
    })
    return { status: response.status, headers: response.headers, text: await response.text() }
  })

layer(
  serverLayer(() => ({ metricsToken: Option.some(Redacted.make(TOKEN)) })),
  {
    timeout: 60_000,
    excludeTestServices: true
  }
)("/metrics with METRICS_TOKEN", (it) => {
  it.effect("no token, a wrong one, a longer or shorter one, or another scheme: 401; the token: 200", () =>
    Effect.gen(function* () {
      const server = yield* TestServer
      for (const authorization of [
        undefined,
        "",
        "Bearer",
        `Bearer ${TOKEN.slice(0, -1)}x`,
        `Bearer ${TOKEN}x`,
        `Bearer ${TOKEN.slice(0, 8)}`,
        `Basic ${Buffer.from(`prometheus:${TOKEN}`).toString("base64")}`,
        TOKEN,
        `Bearer ${TOKEN} extra`
      ]) {
        const refused = yield* scrape(server.baseUrl, authorization)
        assert.strictEqual(refused.status, 401, String(authorization))
        assert.deepStrictEqual(JSON.parse(refused.text), {
          error: { code: "unauthorized", message: "send Authorization: Bearer <METRICS_TOKEN>" }
        })
        assert.strictEqual(refused.headers.get("www-authenticate"), 'Bearer realm="metrics"')
        assert.notInclude(refused.text, "process_resident_memory_bytes")
        assert.notInclude(refused.text, TOKEN)
      }
      for (const authorization of [`Bearer ${TOKEN}`, `bearer ${TOKEN}`]) {
        const scraped = yield* scrape(server.baseUrl, authorization)
        assert.strictEqual(scraped.status, 200, authorization)
        assert.include(scraped.text, "process_resident_memory_bytes")
        assert.notInclude(scraped.text, TOKEN)
      }
      // Health stays open to probes.
      const health = yield* Effect.promise(() => fetch(`${server.baseUrl}/health/queue`))
      assert.strictEqual(health.status, 200)
    })
  )
})

describe("bearerMatches", () => {
  it("compares whole tokens", () => {
    const token = Redacted.make("abc")
    assert.isTrue(bearerMatches("Bearer abc", token))
    assert.isFalse(bearerMatches("Bearer ab", token))
    assert.isFalse(bearerMatches("Bearer abcd", token))
    assert.isFalse(bearerMatches("Bearer ", token))
    assert.isFalse(bearerMatches(undefined, token))
  })
})
