/**
 * LLM faults under traffic (the real server in this process, the fake
 * OpenAI scripted to fail): 429, 5xx, 408 and connection resets are retried
 * and every user still gets the model's real answer, once, in order; 401 and
 * insufficient_quota are not retried: the user gets the bot's error message
 * once and the failed reply is kept for admins.
 *
 * A request that never answers is left to the adapter's own tests: its
 * timeout is 60 s per attempt and the server has no setting to shorten it.
 */
import { assert, layer } from "@effect/vitest"
import { Effect, Fiber } from "effect"
import {
  assertAnsweredInOrder,
  assertServing,
  botState,
  deliveryReport,
  eventuallyQuery,
  expectedReplies,
  inboxState,
  messageText,
  metricDeltas,
  quietPeriod,
  replyState,
  scrapeMetrics,
  sendTraffic,
  waitForReplies
} from "../support/faultHarness.ts"
import { eventually, layer as serverLayer, TestServer } from "../support/inProcessServer.ts"

const CHATS = 10
const MESSAGES_PER_CHAT = 3
const MODEL = "gpt-4o-mini"
const API_KEY = "sk-test-key"
const chatsFrom = (first: number) => Array.from({ length: CHATS }, (_, index) => first + index)

const llmSeries = {
  ok: ["llm_requests_total", { model: MODEL, outcome: "ok" }],
  error: ["llm_requests_total", { model: MODEL, outcome: "error" }],
  auth: ["llm_errors_total", { model: MODEL, type: "auth" }],
  quota: ["llm_errors_total", { model: MODEL, type: "quota" }],
  retryable: ["pipeline_failures_total", { class: "retryable" }],
  terminal: ["pipeline_failures_total", { class: "terminal" }],
  fatal: ["pipeline_failures_total", { class: "fatal" }]
} as const

layer(
  serverLayer(() => ({}), { recordLlmRequests: true }),
  { timeout: 60_000, excludeTestServices: true }
)("faults: LLM", (it) => {
  it.effect(
    "429, 5xx, 408 and resets are retried: every user gets the model's answer once, in order",
    () =>
      Effect.gen(function* () {
        const server = yield* TestServer
        const { openai, telegram } = server
        const { bot } = yield* server.addBot("Flaky Model")
        const chats = chatsFrom(940_000)
        const total = CHATS * MESSAGES_PER_CHAT + 1
        const expected = expectedReplies("flaky-llm", chats, 1, MESSAGES_PER_CHAT)
        yield* openai.setLatency(30)
        const requestsBefore = (yield* openai.requests).length
        const before = yield* scrapeMetrics(server.baseUrl)
        const started = Date.now()

        // Queued failures are met by the next requests, whichever chat they are for.
        // 17 in all: a message needs 3 in a row (the adapter's tries) for one
        // reschedule and 6 failed attempts (18) to be given up, so none can be.
        yield* openai.failNext({ status: 429, retryAfter: 1, times: 2 })
        yield* openai.failNext({ status: 500, times: 2 })
        yield* openai.failNext({ status: "reset", times: 1 })
        yield* openai.failNext({ status: 503, times: 2 })
        let faults = 7
        const traffic = yield* Effect.forkChild(
          sendTraffic({
            baseUrl: server.baseUrl,
            bot,
            label: "flaky-llm",
            chats,
            from: 1,
            to: MESSAGES_PER_CHAT
          })
        )
        yield* eventually(
          () => deliveryReport(telegram, bot.telegramBotId, expected).chats.some((c) => c.sent.length > 0),
          20_000
        )
        // Mid-flight: more while later messages are still to be asked about.
        yield* openai.failNext({ status: 408, times: 2 })
        yield* openai.failNext({ status: "reset", times: 2 })
        yield* openai.failNext({ status: 502, times: 3 })
        faults += 7
        assert.strictEqual(yield* Fiber.join(traffic), 0, "the webhook is not affected by the model's faults")
        yield* waitForReplies(telegram, bot.telegramBotId, expected, 45_000)
        // One more message while the model fails every try the adapter makes: the
        // update itself is rescheduled, and answered on its next attempt.
        yield* openai.failNext({ status: 503, times: 3 })
        faults += 3
        assert.strictEqual(
          yield* sendTraffic({
            baseUrl: server.baseUrl,
            bot,
            label: "flaky-llm",
            chats: [chats[0]!],
            from: 4,
            to: 4
          }),
          0
        )
        expectedReplies("flaky-llm", [chats[0]!], 4, 4, expected)
        yield* waitForReplies(telegram, bot.telegramBotId, expected, 20_000)
        const elapsedMs = Date.now() - started
        yield* quietPeriod()

        const report = deliveryReport(telegram, bot.telegramBotId, expected)
        // The real answers: nobody got the bot's error message.
        assertAnsweredInOrder(report, expected)
        assert.strictEqual(report.repeats, 0, `no reply sent twice (${report.repeatedTexts.join(" | ")})`)
        // One request per failure and one answer per message: nothing asked twice once answered.
        const requests = (yield* openai.requests).slice(requestsBefore)
        assert.strictEqual(requests.length, total + faults, "LLM requests")
        assert.isTrue(
          requests.every((request) => request.model === MODEL),
          "no fallback model is configured"
        )

        yield* assertServing(server.baseUrl)
        const inbox = yield* eventuallyQuery(
          inboxState(server.sql, bot.id),
          (state) => state.done === total,
          5_000,
          "all updates done"
        )
        assert.deepInclude(inbox, { pending: 0, done: total, failed: 0 })
        assert.deepStrictEqual(yield* replyState(server.sql, bot.id), {
          users: total,
          sent: total,
          pending: 0,
          failed: 0,
          withError: 0
        })
        const [priced] = yield* server.sql<{ count: number }>`
            SELECT count(*)::int AS count FROM messages
            WHERE bot_id = ${bot.id} AND role = 'assistant' AND model = ${MODEL} AND input_tokens > 0 AND cost_usd > 0`.pipe(
          Effect.orDie
        )
        assert.strictEqual(priced!.count, total, "every reply stored with its model, tokens and cost")
        assert.deepStrictEqual(yield* botState(server.sql, bot.id), { active: true, lastError: null })

        const deltas = metricDeltas(before, yield* scrapeMetrics(server.baseUrl), llmSeries)
        assert.strictEqual(deltas.ok, total, "one successful completion per message")
        // A completion that failed all its tries is one error, and its update is rescheduled.
        assert.strictEqual(deltas.error, deltas.retryable)
        assert.strictEqual(inbox.reschedules, deltas.retryable)
        assert.isAtLeast(deltas.retryable, 1, "the last message was rescheduled")
        assert.isAtMost(deltas.retryable, Math.floor(faults / 3))
        assert.deepInclude(deltas, { auth: 0, quota: 0, terminal: 0, fatal: 0 })
        yield* Effect.logWarning("fault: llm transient", {
          updates: total,
          faults,
          rescheduled: deltas.retryable,
          repeated_sends: report.repeats,
          elapsed_ms: elapsedMs
        })
      }),
    60_000
  )

  it.effect(
    "401 and insufficient_quota are not retried: the error message once, a failed reply kept for admins",
    () =>
      Effect.gen(function* () {
        const server = yield* TestServer
        const { openai, telegram } = server
        const { bot } = yield* server.addBot("Unpaid Model")
        const chats = chatsFrom(950_000)
        const total = CHATS * MESSAGES_PER_CHAT
        yield* openai.setLatency(30)
        const requestsBefore = (yield* openai.requests).length
        const before = yield* scrapeMetrics(server.baseUrl)

        const traffic = yield* Effect.forkChild(
          sendTraffic({
            baseUrl: server.baseUrl,
            bot,
            label: "unpaid",
            chats,
            from: 1,
            to: MESSAGES_PER_CHAT
          })
        )
        yield* eventually(() => telegram.sent.some((message) => message.botId === bot.telegramBotId), 20_000)
        yield* openai.failNext({ status: 401 })
        yield* openai.failNext({ status: 429, code: "insufficient_quota" })
        assert.strictEqual(yield* Fiber.join(traffic), 0)
        yield* eventuallyQuery(
          replyState(server.sql, bot.id),
          (state) => state.sent + state.failed === total,
          30_000,
          "every message answered"
        )
        yield* quietPeriod()

        // Which two messages met the failures: their replies are the failed ones.
        const failed = yield* server.sql<{ chatId: string; text: string; error: string }>`
            SELECT c.telegram_chat_id AS "chatId", u.text, r.error
            FROM messages r JOIN messages u ON u.id = r.reply_to JOIN chats c ON c.id = r.chat_id
            WHERE r.bot_id = ${bot.id} AND r.role = 'assistant' AND r.status = 'failed'
            ORDER BY r.error`.pipe(Effect.orDie)
        assert.strictEqual(failed.length, 2, "two failed replies")
        assert.match(failed[0]!.error, /\(auth\)/)
        assert.match(failed[1]!.error, /\(quota\)/)
        for (const row of failed) assert.notInclude(row.error, API_KEY, "the API key is not stored")

        const requests = (yield* openai.requests).slice(requestsBefore)
        // Not retried: one request for each message, the two failed ones included.
        assert.strictEqual(requests.length, total, "no request was repeated")
        for (const row of failed) {
          const asked = requests.filter((request) => request.messages.at(-1)?.content === row.text)
          assert.strictEqual(asked.length, 1, `"${row.text}" was sent to the model once`)
        }

        // Every chat: its replies in order, the failed ones replaced by the bot's error message, once.
        const expected = new Map<number, Array<string>>()
        for (const chatId of chats) {
          const replies: Array<string> = []
          for (let n = 1; n <= MESSAGES_PER_CHAT; n++) {
            const text = messageText("unpaid", chatId, n)
            const failedHere = failed.some((row) => Number(row.chatId) === chatId && row.text === text)
            replies.push(failedHere ? bot.errorMessage : `reply to: ${text}`)
          }
          expected.set(chatId, replies)
        }
        const report = deliveryReport(telegram, bot.telegramBotId, expected)
        for (const chat of report.chats) {
          assert.deepStrictEqual(
            chat.sent,
            expected.get(chat.chatId),
            `chat ${chat.chatId}: sent exactly these`
          )
        }
        const errorMessages = telegram.sent.filter(
          (message) => message.botId === bot.telegramBotId && message.text === bot.errorMessage
        )
        assert.strictEqual(errorMessages.length, 2, "the error message went out once per failure")

        yield* assertServing(server.baseUrl)
        const inbox = yield* inboxState(server.sql, bot.id)
        assert.strictEqual(inbox.pending, 0)
        assert.deepStrictEqual(yield* replyState(server.sql, bot.id), {
          users: total,
          sent: total - 2,
          pending: 0,
          failed: 2,
          withError: 2
        })
        // The key and the quota are the operator's to fix: the bot keeps answering the rest.
        assert.isTrue((yield* botState(server.sql, bot.id)).active)
        const notices = yield* server.sql<{ message: string }>`
            SELECT payload->>'message' AS message FROM domain_effects
            WHERE kind = 'NotifyAdmins' AND payload->>'botId' = ${bot.id}`.pipe(Effect.orDie)
        assert.strictEqual(notices.length, 2, "admins are told about each")

        const deltas = metricDeltas(before, yield* scrapeMetrics(server.baseUrl), llmSeries)
        assert.deepInclude(deltas, { auth: 1, quota: 1, error: 2, ok: total - 2, retryable: 0, terminal: 0 })
        yield* Effect.logWarning("fault: llm not retried", {
          failed_replies: failed.map((row) => row.error),
          inbox
        })
      }),
    60_000
  )
})
