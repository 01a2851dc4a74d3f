/**
 * A thread whose UTF-8 bytes already fit the history's room is chosen
 * without counting its tokens (the first reply of a process would otherwise
 * load an encoding); one that does not is counted exactly, and the one retry
 * after "prompt too long" still counts its way to half the room.
 *
 * The counters here count their calls: one around the real counter (the
 * estimate, for "test-model"), and one that makes every byte a token, the
 * most the bound allows, so that what fits by bytes fits with nothing to spare.
 */
import { LanguageModelMemory, TokenCounterTiktoken } from "@botfleet/adapters"
import { CONTEXT_LENGTH_EXCEEDED, LlmError, TokenCounter } from "@botfleet/application"
import { MESSAGE_OVERHEAD_TOKENS, promptBudget, tokensAtMost } from "@botfleet/domain"
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { addBot, harness, processUpdate, textUpdate } from "../harness.ts"

const { LanguageModelMemoryControl } = LanguageModelMemory
const llmRequests = LanguageModelMemoryControl.use((control) => control.requests)

const BUDGET = 1_000
/** The history's room with no fixed turns: the budget less the answer's room and the request's own. */
const ROOM = BUDGET - promptBudget({ contextTokens: BUDGET, maxOutputTokens: null }, "test-model").answer - 3

/** `counter` with its calls counted. */
const counting = (counter: TokenCounter["Service"]) => {
  const calls = { count: 0 }
  const service = TokenCounter.of({
    count: (model, text) => {
      calls.count++
      return counter.count(model, text)
    },
    countStored: (model, key, text) => {
      calls.count++
      return counter.countStored(model, key, text)
    }
  })
  return { calls, service }
}

/** A tokenizer at the bound: every byte a token. */
const everyByte = TokenCounter.of({
  count: (_model, text) => tokensAtMost(text),
  countStored: (_model, _key, text) => tokensAtMost(text)
})

const historyOf = (request: {
  readonly messages: ReadonlyArray<{ readonly role: string; readonly content: string }>
}) => request.messages.filter((turn) => turn.role !== "system").map((turn) => turn.content)

const tooLong = new LlmError({
  kind: "bad_request",
  model: "test-model",
  description: "This model's maximum context length is 300 tokens",
  retryAfterSeconds: null,
  code: CONTEXT_LENGTH_EXCEEDED
})

describe("history chosen without counting", () => {
  const counted = counting(TokenCounterTiktoken.make())
  it.effect("a short thread is chosen whole, nothing counted", () =>
    Effect.gen(function* () {
      const { bot } = yield* addBot({ historyLimit: 20, systemPrompt: "Be brief." })
      for (let n = 1; n <= 3; n++) yield* processUpdate(bot, textUpdate(n, `short ${n}`))
      assert.strictEqual(counted.calls.count, 0, "no token counted")
      const requests = yield* llmRequests
      assert.deepStrictEqual(historyOf(requests[2]!), [
        "short 1",
        "echo: short 1",
        "short 2",
        "echo: short 2",
        "short 3"
      ])
    }).pipe(Effect.provide(harness({ tokenCounter: counted.service })))
  )

  const exact = counting(TokenCounterTiktoken.make())
  it.effect("a thread longer than the room in bytes is counted, and kept whole when its tokens fit", () =>
    Effect.gen(function* () {
      const { bot } = yield* addBot({ contextTokens: BUDGET, historyLimit: 20 })
      // About 110 estimated tokens and 350 bytes each: five are ~1,750 bytes, far over the room.
      const question = (n: number) =>
        `Question ${n}: ${"tell me more about the weather in spring. ".repeat(8)}`
      for (let n = 1; n <= 3; n++) yield* processUpdate(bot, textUpdate(n, question(n)))
      assert.isAbove(exact.calls.count, 0, "counted")
      const history = historyOf((yield* llmRequests)[2]!)
      const bytes = history.reduce((sum, text) => sum + tokensAtMost(text) + MESSAGE_OVERHEAD_TOKENS, 0)
      assert.isAbove(bytes, ROOM, "by bytes it would not fit")
      assert.strictEqual(history.length, 5, "by tokens it does: every message kept")
    }).pipe(Effect.provide(harness({ tokenCounter: exact.service })))
  )

  const tight = counting(everyByte)
  it.effect("the retry after a prompt too long counts its way to half the room", () =>
    Effect.gen(function* () {
      const { bot } = yield* addBot({ contextTokens: BUDGET, historyLimit: 20 })
      const text = (n: number) => `${n} ${"z".repeat(148)}`
      yield* processUpdate(bot, textUpdate(1, text(1)))
      assert.strictEqual(tight.calls.count, 0, "the first thread fits by its bytes")
      yield* LanguageModelMemoryControl.use((control) => control.clear)
      yield* LanguageModelMemoryControl.use((control) => control.failNext(tooLong))
      yield* processUpdate(bot, textUpdate(2, text(2)))

      const [refused, retried] = yield* llmRequests
      // Three messages of ~150 bytes fit the room, not half of it: the retry drops the oldest.
      assert.deepStrictEqual(historyOf(refused!), [text(1), `echo: ${text(1)}`, text(2)])
      assert.deepStrictEqual(historyOf(retried!), [`echo: ${text(1)}`, text(2)])
      assert.isAbove(tight.calls.count, 0, "the retry counted")
      const retriedTokens = retried!.messages.reduce(
        (sum, turn) => sum + tokensAtMost(turn.content) + MESSAGE_OVERHEAD_TOKENS,
        0
      )
      assert.isAtMost(retriedTokens, Math.floor(ROOM / 2))
    }).pipe(Effect.provide(harness({ tokenCounter: tight.service })))
  )
})
