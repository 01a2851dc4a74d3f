/**
 * /metrics after real traffic: every documented metric is there, with the
 * expected labels, and the values moved. Also /health/queue.
 */
import { FakeTelegram } from "@botfleet/testing"
import { assert, layer } from "@effect/vitest"
import { Effect, Option } from "effect"
import {
  eventually,
  eventuallyEffect,
  postUpdate,
  layer as serverLayer,
  TestServer,
  textUpdate
} from "../support/inProcessServer.ts"

/** The value of the first sample of `name` whose labels include all of `labels`. */
const sample = (text: string, name: string, labels: Record<string, string> = {}): number | undefined => {
  for (const line of text.split("\n")) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue
    const labelText = line.slice(name.length).match(/^\{(.*)\}/)?.[1] ?? ""
    if (Object.entries(labels).every(([key, value]) => labelText.includes(`${key}="${value}"`))) {
      return Number(line.slice(line.lastIndexOf(" ") + 1))
    }
  }
  return undefined
}

const scrape = (baseUrl: string) => Effect.promise(() => fetch(`${baseUrl}/metrics`).then((r) => r.text()))

layer(
  serverLayer(() => ({ openaiFallbackModel: Option.some("gpt-4o") })),
  { timeout: 60_000, excludeTestServices: true }
)("metrics", (it) => {
  it.effect(
    "every metric is exported with its labels and moves with traffic",
    () =>
      Effect.gen(function* () {
        const server = yield* TestServer
        const { bot } = yield* server.addBot("Measured")

        // 1: a normal reply.
        yield* postUpdate(server.baseUrl, bot, textUpdate(7101, "hello"))
        yield* eventually(() => server.telegram.sentTo(7101).length === 1)
        // 2: the default model fails all three tries (the first and two retries), the fallback answers.
        yield* server.openai.failNext({ status: 500, times: 3, model: "gpt-4o-mini" })
        yield* postUpdate(server.baseUrl, bot, textUpdate(7102, "fallback please"))
        yield* eventually(() => server.telegram.sentTo(7102).length === 1, 30_000)
        // 3: Telegram fails the send three times: the adapter retries twice, then the update is rescheduled.
        server.telegram.failNext("sendMessage", FakeTelegram.Fault.serverError(500), 3)
        yield* postUpdate(server.baseUrl, bot, textUpdate(7103, "flaky telegram"))
        yield* eventually(() => server.telegram.sentTo(7103).length === 1, 30_000)
        // 4: a bad key: not retried, the user gets the error message.
        yield* server.openai.failNext({ status: 401, times: 1 })
        yield* postUpdate(server.baseUrl, bot, textUpdate(7104, "bad key"))
        yield* eventually(() => server.telegram.sentTo(7104).length === 1, 30_000)

        // A reply is sent a moment before its update is marked done: scrape once the queue is empty.
        const text = yield* eventuallyEffect(
          Effect.map(scrape(server.baseUrl), (body) =>
            /^pipeline_pending_updates 0$/m.test(body) ? body : undefined
          )
        )
        const at = (name: string, labels: Record<string, string> = {}) => {
          const value = sample(text, name, labels)
          assert.isDefined(value, `${name} ${JSON.stringify(labels)} in /metrics`)
          return value!
        }
        assert.strictEqual(at("telegram_updates_received_total", { bot: bot.id, source: "webhook" }), 4)
        assert.isAtLeast(at("telegram_messages_sent_total", { bot: bot.id, outcome: "ok" }), 4)
        assert.isAtLeast(at("telegram_messages_sent_total", { bot: bot.id, outcome: "error" }), 1)
        // Split by status (seed 002): together they are every request.
        assert.isAtLeast(
          at("llm_request_duration_seconds_count", { model: "gpt-4o-mini", status: "ok" }) +
            at("llm_request_duration_seconds_count", { model: "gpt-4o-mini", status: "error" }),
          3
        )
        assert.isAtLeast(at("llm_requests_total", { model: "gpt-4o-mini", outcome: "ok" }), 2)
        assert.strictEqual(at("llm_requests_total", { model: "gpt-4o-mini", outcome: "error" }), 1)
        assert.strictEqual(at("llm_errors_total", { model: "gpt-4o-mini", type: "auth" }), 1)
        assert.strictEqual(at("llm_fallback_used_total", { model: "gpt-4o" }), 1)
        assert.isAbove(at("llm_tokens_total", { model: "gpt-4o-mini", direction: "input" }), 0)
        assert.isAbove(at("llm_tokens_total", { model: "gpt-4o-mini", direction: "output" }), 0)
        assert.isAbove(at("llm_cost_usd_total", { model: "gpt-4o-mini" }), 0)
        for (const step of ["incoming_saved", "response_generated", "response_saved", "response_sent"]) {
          assert.isAtLeast(at("pipeline_step_duration_seconds_count", { step }), 4)
        }
        assert.isAtLeast(at("botfleet_reply_latency_seconds_count"), 3)
        assert.isAtLeast(at("pipeline_failures_total", { class: "retryable" }), 1)
        assert.strictEqual(at("pipeline_pending_updates"), 0)
        assert.strictEqual(at("pipeline_oldest_pending_age_seconds"), 0)
        assert.isAtLeast(
          at("db_pool_connections", { state: "idle" }) + at("db_pool_connections", { state: "active" }),
          1
        )
        assert.isAbove(at("process_resident_memory_bytes"), 10_000_000)
        assert.isAbove(at("process_cpu_seconds_total"), 0)
        assert.isAtLeast(
          at("http_server_request_duration_seconds_count", {
            method: "POST",
            route: "/telegram/webhook/:botId",
            status: "200"
          }),
          4
        )
        assert.include(text, "# TYPE http_server_request_duration_seconds histogram")

        // Seed 002's names, next to today's.
        assert.strictEqual(at("telegram_messages_received_total", { bot: bot.id, source: "webhook" }), 4)
        assert.strictEqual(
          at("llm_request_duration_seconds_count", { model: "gpt-4o-mini", status: "error" }),
          1
        )
        assert.strictEqual(at("llm_errors_total", { model: "gpt-4o-mini", error_type: "auth" }), 1)
        assert.strictEqual(at("database_connection_pool_size"), 20)
        const available = at("database_connection_pool_available")
        assert.isTrue(available >= 0 && available < 20, `available ${available}: the scrape itself holds one`)
        assert.isAtLeast(at("database_query_duration_seconds_count", { query: "job_claim" }), 1)
        // The scheduler's own: retention ran when the server started.
        assert.isAtLeast(at("scheduler_job_runs_total", { job: "retention", outcome: "ok" }), 1)
        assert.isAtLeast(at("scheduler_job_duration_seconds_count", { job: "retention" }), 1)
        assert.isAbove(
          at("scheduler_job_last_success_timestamp_seconds", { job: "retention" }),
          1_700_000_000
        )
      }),
    90_000
  )

  it.effect(
    "the route label is the matched route: ids and a scanner's random paths add no series",
    () =>
      Effect.gen(function* () {
        const server = yield* TestServer
        const paths = ["/wp-admin/setup.php", "/.env", `/random-${Date.now()}`, "/api/bots/x/y/z"]
        for (const path of paths) {
          const response = yield* Effect.promise(() => fetch(`${server.baseUrl}${path}`))
          assert.strictEqual(response.status, 404)
        }
        const bots = ["7c9e6679-7425-40de-944b-e07fc1f90ae7", "16fd2706-8baf-433b-82eb-8c7fada847da"]
        for (const id of bots) yield* Effect.promise(() => fetch(`${server.baseUrl}/api/bots/${id}`))
        const text = yield* scrape(server.baseUrl)
        const routes = new Set(
          [...text.matchAll(/^http_server_request_duration_seconds_count\{[^}]*route="([^"]*)"/gm)].map(
            (m) => m[1]
          )
        )
        for (const path of [...paths, ...bots]) {
          assert.isFalse(
            [...routes].some((route) => route?.includes(path)),
            `no series for ${path}`
          )
        }
        assert.isTrue(routes.has("unmatched"), [...routes].join(", "))
        assert.isTrue(routes.has("/api/bots/:id"), [...routes].join(", "))
      }),
    30_000
  )

  it.effect(
    "/health/queue reports the backlog and is 503 when it is too old",
    () =>
      Effect.gen(function* () {
        const server = yield* TestServer
        const ok = yield* Effect.promise(() =>
          fetch(`${server.baseUrl}/health/queue`).then(async (r) => [r.status, await r.json()] as const)
        )
        assert.strictEqual(ok[0], 200)
        assert.deepInclude(ok[1], { status: "ok", pending: 0, maxAgeSeconds: 300 })
        // An update stuck for an hour (as if no process worked on it).
        const [bot] = yield* server.sql<{ id: string }>`SELECT id FROM bots LIMIT 1`.pipe(Effect.orDie)
        yield* server.sql`
          INSERT INTO telegram_updates (bot_id, update_id, chat_key, payload, received_at, next_attempt_at)
          VALUES (${bot!.id}, 999999, 'stuck', '{}'::jsonb, now() - interval '1 hour', now() + interval '1 day')`.pipe(
          Effect.orDie
        )
        const late = yield* Effect.promise(() =>
          fetch(`${server.baseUrl}/health/queue`).then(async (r) => [r.status, await r.json()] as const)
        )
        assert.strictEqual(late[0], 503)
        assert.strictEqual((late[1] as { status: string }).status, "backlog")
        assert.isAbove((late[1] as { oldestPendingAgeSeconds: number }).oldestPendingAgeSeconds, 3500)
      }),
    30_000
  )
})
