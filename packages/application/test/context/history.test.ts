/**
 * Context by tokens on the memory twins: which messages the model reads
 * within the bot's budget, the running summary (made once, even across a
 * crash), and the one shorter retry when the model finds a prompt too long.
 * The harness's model ("test-model") is unknown, so tokens are the domain's
 * estimate: the tests count the same way.
 */
import { LanguageModelMemory } from "@botfleet/adapters"
import { CONTEXT_LENGTH_EXCEEDED, LlmError, ThreadSummaries, UsageLedger } from "@botfleet/application"
import {
  estimateTokens,
  MESSAGE_OVERHEAD_TOKENS,
  promptBudget,
  REQUEST_OVERHEAD_TOKENS,
  SUMMARY_LEAD,
  SUMMARY_PROMPT
} from "@botfleet/domain"
import { assert, describe, it } from "@effect/vitest"
import { Clock, Effect, Exit, Option } from "effect"
import { CUT_MARK } from "../../src/pipeline/reply/history.ts"
import { addBot, CHAT_ID, chatOf, harness, messagesOf, processUpdate, textUpdate } from "../harness.ts"

const { LanguageModelMemoryControl } = LanguageModelMemory
const llmRequests = LanguageModelMemoryControl.use((control) => control.requests)

const BUDGET = 1_000
/** What the history may take in these tests: the budget less the answer's room and the request's own. */
const ROOM = BUDGET - promptBudget({ contextTokens: BUDGET, maxOutputTokens: null }, "test-model").answer

/** About 100 estimated tokens: each turn's question. */
const question = (n: number) => `Question ${n}: ${"tell me more about the weather in spring. ".repeat(8)}`

const promptTokens = (messages: ReadonlyArray<{ readonly content: string }>) =>
  messages.reduce((sum, turn) => sum + estimateTokens(turn.content) + MESSAGE_OVERHEAD_TOKENS, 0) +
  REQUEST_OVERHEAD_TOKENS

const isSummaryRequest = (request: { readonly messages: ReadonlyArray<{ readonly content: string }> }) =>
  request.messages[0]?.content === SUMMARY_PROMPT

describe("context by tokens", () => {
  it.effect(
    "the history is the newest whole messages that fit the budget, led by the summary once it is long",
    () =>
      Effect.gen(function* () {
        const { bot } = yield* addBot({ contextTokens: BUDGET, historyLimit: 100 })
        let made = 0
        yield* LanguageModelMemoryControl.use((control) =>
          control.setReply((request) =>
            isSummaryRequest(request)
              ? `Summary ${++made}: the user asked about the weather in spring.`
              : `echo: ${request.messages.findLast((turn) => turn.role === "user")?.content ?? ""}`
          )
        )
        for (let n = 1; n <= 12; n++) yield* processUpdate(bot, textUpdate(n, question(n)))

        const requests = yield* llmRequests
        const answers = requests.filter((request) => !isSummaryRequest(request))
        assert.strictEqual(answers.length, 12, "every question answered")
        const stored = (yield* messagesOf(bot)).map((message) => message.text)
        for (const [index, request] of answers.entries()) {
          assert.isAtMost(promptTokens(request.messages), ROOM, "within the budget less the answer's room")
          const history = request.messages
            .filter((turn) => turn.role !== "system")
            .map((turn) => turn.content)
          // Whole messages, newest last, without gaps: a run of the stored thread.
          const start = stored.indexOf(history[0]!)
          assert.isAtLeast(start, 0, `${history[0]}`)
          assert.deepStrictEqual(history, stored.slice(start, start + history.length))
          // A summary is short: it leaves room for the question and at least the answer before it.
          if (index > 0) assert.isAtLeast(history.length, 2, `answer ${index + 1}`)
        }
        // Twelve questions and answers are far more than 1,000 tokens: the older ones were summarised.
        const summaries = requests.filter(isSummaryRequest)
        assert.isAtLeast(summaries.length, 1)
        assert.isBelow(summaries.length, 6, "a summary keeps half the room: not one per turn")
        const last = answers.at(-1)!
        assert.strictEqual(last.messages[0]?.role, "system")
        assert.isTrue(last.messages[0]!.content.startsWith(SUMMARY_LEAD))
        assert.include(last.messages.at(-1)!.content, "Question 12")
        // The summary folds the earlier one: the second summary request starts from the first's text.
        if (summaries.length > 1) assert.include(summaries[1]!.messages[1]!.content, "Earlier summary: ")
      }).pipe(Effect.provide(harness()))
  )

  it.effect("a thread that fits reads no summary and makes none", () =>
    Effect.gen(function* () {
      const { bot } = yield* addBot({ historyLimit: 20 })
      for (let n = 1; n <= 5; n++) yield* processUpdate(bot, textUpdate(n, `short ${n}`))
      const requests = yield* llmRequests
      assert.strictEqual(requests.length, 5)
      assert.deepStrictEqual(
        requests[4]!.messages.map((turn) => turn.content),
        [
          "short 1",
          "echo: short 1",
          "short 2",
          "echo: short 2",
          "short 3",
          "echo: short 3",
          "short 4"
        ].concat(["echo: short 4", "short 5"])
      )
      const chat = Option.getOrThrow(yield* chatOf(bot))
      assert.strictEqual((yield* ThreadSummaries.use((store) => store.listByChat(chat.id, 10))).length, 0)
    }).pipe(Effect.provide(harness()))
  )

  it.effect(
    "a crash after the summary is stored: the rerun neither summarises again nor counts it twice",
    () =>
      Effect.gen(function* () {
        const { bot } = yield* addBot({ historyLimit: 4 })
        for (let n = 1; n <= 2; n++) yield* processUpdate(bot, textUpdate(n, `fact ${n}`))
        // The third question passes historyLimit: its answer crashes once, after the summary was made.
        let crash = true
        yield* LanguageModelMemoryControl.use((control) =>
          control.setReply((request) => {
            if (!isSummaryRequest(request) && crash) {
              crash = false
              throw new Error("the process died")
            }
            return `echo: ${request.messages.findLast((turn) => turn.role === "user")?.content ?? ""}`
          })
        )
        const crashed = yield* Effect.exit(processUpdate(bot, textUpdate(3, "fact 3")))
        assert.isTrue(Exit.isFailure(crashed))
        yield* processUpdate(bot, textUpdate(3, "fact 3"))

        const requests = yield* llmRequests
        assert.strictEqual(requests.filter(isSummaryRequest).length, 1, "one summary call")
        const chat = Option.getOrThrow(yield* chatOf(bot))
        const summaries = yield* ThreadSummaries.use((store) => store.listByChat(chat.id, 10))
        assert.strictEqual(summaries.length, 1)
        const summary = summaries[0]!
        const answered = requests.filter((request) => !isSummaryRequest(request)).at(-1)!
        assert.strictEqual(answered.messages[0]!.content, `${SUMMARY_LEAD}${summary.text}`)

        // The summary's tokens are counted once, with the answer it was made for.
        const messages = yield* messagesOf(bot)
        const replyTokens = messages
          .filter((message) => message.role === "assistant")
          .reduce((sum, message) => sum + message.inputTokens + message.outputTokens, 0)
        const now = new Date(yield* Clock.currentTimeMillis)
        const usage = yield* UsageLedger.use((ledger) => ledger.usage(bot.id, CHAT_ID, now))
        assert.strictEqual(
          usage.userTokensToday,
          replyTokens + summary.inputTokens + summary.outputTokens,
          "answers and the one summary"
        )
      }).pipe(Effect.provide(harness()))
  )

  it.effect("a prompt the model finds too long is asked once more within half the room", () =>
    Effect.gen(function* () {
      const { bot } = yield* addBot({ contextTokens: BUDGET, historyLimit: 100 })
      for (let n = 1; n <= 2; n++) yield* processUpdate(bot, textUpdate(n, question(n)))
      yield* LanguageModelMemoryControl.use((control) => control.clear)
      yield* LanguageModelMemoryControl.use((control) =>
        control.failNext(
          new LlmError({
            kind: "bad_request",
            model: "test-model",
            description: "This model's maximum context length is 300 tokens",
            retryAfterSeconds: null,
            code: CONTEXT_LENGTH_EXCEEDED
          })
        )
      )
      yield* processUpdate(bot, textUpdate(3, question(3)))
      const requests = yield* llmRequests
      assert.strictEqual(requests.length, 2)
      assert.isFalse(requests.some(isSummaryRequest), "the whole thread fit the budget")
      const [refused, retried] = requests
      assert.isAbove(refused!.messages.length, retried!.messages.length)
      assert.isAtMost(promptTokens(retried!.messages), Math.floor(ROOM / 2) + REQUEST_OVERHEAD_TOKENS)
      assert.include(retried!.messages.at(-1)!.content, "Question 3")
      const reply = (yield* messagesOf(bot)).at(-1)!
      assert.strictEqual(reply.status === "failed", false)
      assert.include(reply.text, "Question 3")
    }).pipe(Effect.provide(harness()))
  )

  it.effect("only once: a second refusal fails the reply; another bad request is not retried", () =>
    Effect.gen(function* () {
      const { bot } = yield* addBot({ contextTokens: BUDGET })
      const tooLong = new LlmError({
        kind: "bad_request",
        model: "test-model",
        description: "too long",
        retryAfterSeconds: null,
        code: CONTEXT_LENGTH_EXCEEDED
      })
      yield* LanguageModelMemoryControl.use((control) => control.failNext(tooLong, 3))
      yield* processUpdate(bot, textUpdate(1, "hello"))
      assert.strictEqual((yield* llmRequests).length, 2, "the prompt and one shorter one")
      assert.strictEqual((yield* messagesOf(bot)).at(-1)!.status, "failed")

      yield* LanguageModelMemoryControl.use((control) => control.clear)
      yield* LanguageModelMemoryControl.use((control) => control.failNext("bad_request"))
      yield* processUpdate(bot, textUpdate(2, "hello again"))
      assert.strictEqual((yield* llmRequests).length, 1, "an unknown model is not a long prompt")
    }).pipe(Effect.provide(harness()))
  )

  it.effect("a message too long for the budget on its own is answered from its start, marked as cut", () =>
    Effect.gen(function* () {
      const { bot } = yield* addBot({ contextTokens: BUDGET, systemPrompt: "Be brief." })
      yield* processUpdate(bot, textUpdate(1, `START ${"a long line of text. ".repeat(1_000)}`))
      const [request] = yield* llmRequests
      assert.isAtMost(promptTokens(request!.messages), ROOM)
      const asked = request!.messages.at(-1)!.content
      assert.isTrue(asked.startsWith("START a long line"))
      assert.isTrue(asked.endsWith(CUT_MARK))
      // Only the request is cut: the stored message keeps what the user sent.
      const stored = (yield* messagesOf(bot))[0]!
      assert.isAbove(stored.text.length, 20_000)
    }).pipe(Effect.provide(harness()))
  )
})
