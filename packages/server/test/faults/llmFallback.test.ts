/**
 * The primary model goes down under traffic with OPENAI_FALLBACK_MODEL set:
 * after its tries fail, the fallback model answers, so every user still gets
 * a real answer, once, in order, stored with the model that gave it; when the
 * primary is back it answers again.
 */
import { assert, layer } from "@effect/vitest"
import { Effect, Option } from "effect"
import {
  assertAnsweredInOrder,
  assertServing,
  botState,
  deliveryReport,
  expectedReplies,
  inboxState,
  metricDeltas,
  quietPeriod,
  replyState,
  scrapeMetrics,
  sendTraffic,
  waitForReplies
} from "../support/faultHarness.ts"
import { layer as serverLayer, TestServer } from "../support/inProcessServer.ts"

const CHATS = 10
const MESSAGES_PER_CHAT = 3
const PRIMARY = "gpt-4o-mini"
const FALLBACK = "gpt-4o"
/** The adapter's tries of one model: the first and two retries. */
const TRIES = 3

layer(
  serverLayer(() => ({ openaiFallbackModel: Option.some(FALLBACK) }), { recordLlmRequests: true }),
  {
    timeout: 60_000,
    excludeTestServices: true
  }
)("faults: LLM fallback", (it) => {
  it.effect(
    "the primary model is down: the fallback answers every message, once, in order; then the primary is back",
    () =>
      Effect.gen(function* () {
        const server = yield* TestServer
        const { openai, telegram } = server
        const { bot } = yield* server.addBot("Fallback")
        const chats = Array.from({ length: CHATS }, (_, index) => 960_000 + index)
        const total = CHATS * MESSAGES_PER_CHAT
        const expected = expectedReplies("fallback", chats, 1, MESSAGES_PER_CHAT)
        const before = yield* scrapeMetrics(server.baseUrl)
        const started = Date.now()

        // Every request for the primary fails (a 503 outage) until cleared.
        yield* openai.failNext({ status: 503, times: Number.POSITIVE_INFINITY, model: PRIMARY })
        assert.strictEqual(
          yield* sendTraffic({
            baseUrl: server.baseUrl,
            bot,
            label: "fallback",
            chats,
            from: 1,
            to: MESSAGES_PER_CHAT
          }),
          0
        )
        yield* waitForReplies(telegram, bot.telegramBotId, expected, 40_000)
        const outageMs = Date.now() - started
        const duringOutage = yield* openai.requests
        assert.strictEqual(
          duringOutage.filter((request) => request.model === PRIMARY).length,
          TRIES * total,
          "the primary was tried (with retries) for each message"
        )
        assert.strictEqual(
          duringOutage.filter((request) => request.model === FALLBACK).length,
          total,
          "the fallback was asked once per message"
        )
        yield* openai.clear
        // The primary is back.
        yield* sendTraffic({
          baseUrl: server.baseUrl,
          bot,
          label: "fallback",
          chats: [chats[0]!],
          from: 4,
          to: 4
        })
        expectedReplies("fallback", [chats[0]!], 4, 4, expected)
        yield* waitForReplies(telegram, bot.telegramBotId, expected, 20_000)
        yield* quietPeriod()

        const report = deliveryReport(telegram, bot.telegramBotId, expected)
        assertAnsweredInOrder(report, expected)
        assert.strictEqual(report.repeats, 0, `no reply sent twice (${report.repeatedTexts.join(" | ")})`)
        const byModel = yield* server.sql<{ model: string; count: number }>`
          SELECT model, count(*)::int AS count FROM messages
          WHERE bot_id = ${bot.id} AND role = 'assistant' AND status = 'sent' AND cost_usd > 0
          GROUP BY model ORDER BY model`.pipe(Effect.orDie)
        assert.deepStrictEqual(
          byModel,
          [
            { model: FALLBACK, count: total },
            { model: PRIMARY, count: 1 }
          ],
          "replies stored with the model that answered, priced"
        )
        const requests = yield* openai.requests
        // After clear: the one message of the recovered primary.
        assert.deepStrictEqual(
          requests.map((request) => request.model),
          [PRIMARY]
        )

        yield* assertServing(server.baseUrl)
        assert.deepInclude(yield* inboxState(server.sql, bot.id), {
          pending: 0,
          done: total + 1,
          failed: 0,
          reschedules: 0
        })
        assert.deepStrictEqual(yield* replyState(server.sql, bot.id), {
          users: total + 1,
          sent: total + 1,
          pending: 0,
          failed: 0,
          withError: 0
        })
        assert.deepStrictEqual(yield* botState(server.sql, bot.id), { active: true, lastError: null })
        const deltas = metricDeltas(before, yield* scrapeMetrics(server.baseUrl), {
          fallbackUsed: ["llm_fallback_used_total", { model: FALLBACK }],
          fallbackOk: ["llm_requests_total", { model: FALLBACK, outcome: "ok" }],
          primaryOk: ["llm_requests_total", { model: PRIMARY, outcome: "ok" }],
          primaryError: ["llm_requests_total", { model: PRIMARY, outcome: "error" }],
          retryable: ["pipeline_failures_total", { class: "retryable" }]
        })
        assert.deepStrictEqual(deltas, {
          fallbackUsed: total,
          fallbackOk: total,
          primaryOk: 1,
          primaryError: 0,
          retryable: 0
        })
        yield* Effect.logWarning("fault: llm fallback", {
          updates: total,
          primary_tries_per_message: TRIES,
          outage_ms: outageMs,
          repeated_sends: report.repeats
        })
      }),
    60_000
  )
})
