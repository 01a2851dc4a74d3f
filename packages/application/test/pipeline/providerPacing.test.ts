import { assert, describe, it } from "@effect/vitest"
import { Clock, Effect, Fiber } from "effect"
import { TestClock } from "effect/testing"
import { defaultProviderPacing, ProviderPacing } from "../../src/pipeline/providerPacing.ts"
import { LlmError, type RateLimitInfo } from "../../src/ports/LanguageModel.ts"

const bot = { id: "6f1c7a38-6b1e-4c55-9a53-3f4d2b6f0a11", name: "Helper" }

const headers = (remaining: number, limit = 60): RateLimitInfo => ({
  limitRequests: limit,
  remainingRequests: remaining,
  resetRequestsSeconds: 1,
  limitTokens: null,
  remainingTokens: null,
  resetTokensSeconds: null
})

const tooMany = (retryAfterSeconds: number, rateLimit?: RateLimitInfo) =>
  new LlmError({
    kind: "rate_limited",
    model: "m",
    description: "Rate limit reached",
    retryAfterSeconds,
    rateLimit: rateLimit ?? null
  })

describe("ProviderPacing", () => {
  it.effect("nothing is paced until the provider says something", () =>
    Effect.gen(function* () {
      const pacing = yield* ProviderPacing
      for (let i = 0; i < 1_000; i++) yield* pacing.admit("default", `chat-${i}`)
      assert.strictEqual(yield* Clock.currentTimeMillis, 0)
    }).pipe(Effect.provide(ProviderPacing.layer))
  )

  it.effect("x-ratelimit-* set the pace: a short wait is slept, a longer one is Paced to its turn", () =>
    Effect.gen(function* () {
      const pacing = yield* ProviderPacing
      // 60 a minute and none left: about one a second (a little under), turns kept per chat.
      yield* pacing.answered("p1", headers(0))
      const first = yield* Effect.forkChild(
        Effect.andThen(pacing.admit("p1", "a"), Clock.currentTimeMillis),
        {
          startImmediately: true
        }
      )
      const second = yield* Effect.flip(pacing.admit("p1", "b"))
      const third = yield* Effect.flip(pacing.admit("p1", "c"))
      assert.strictEqual(second._tag, "Paced")
      assert.isAtLeast(second.until, 2_000)
      assert.isAtLeast(third.until - second.until, 1_000)
      // Another key is not held up.
      yield* pacing.admit("p2", "a")
      yield* TestClock.adjust("1100 millis")
      assert.isAtLeast(yield* Fiber.join(first), 1_000)
      // Back at its turn, the chat goes at once.
      yield* TestClock.adjust(`${second.until - 1_100} millis`)
      const back = yield* Effect.forkChild(Effect.andThen(pacing.admit("p1", "b"), Clock.currentTimeMillis))
      yield* TestClock.adjust("1 millis")
      assert.isAtMost(yield* Fiber.join(back), second.until + 1)
    }).pipe(Effect.provide(ProviderPacing.layer))
  )

  it.effect("a 429 shuts the key for retry-after; the refused chats get turns one after another", () =>
    Effect.gen(function* () {
      const pacing = yield* ProviderPacing
      const turns = []
      for (const chat of ["a", "b", "c"])
        turns.push(yield* pacing.refused("p1", chat, bot, tooMany(20, headers(0))))
      assert.isAtLeast(turns[0]!.until, 20_000)
      assert.isAbove(turns[1]!.until, turns[0]!.until)
      assert.isAbove(turns[2]!.until, turns[1]!.until)
      // A new chat waits behind them.
      const late = yield* Effect.flip(pacing.admit("p1", "d"))
      assert.isAbove(late.until, turns[2]!.until)
    }).pipe(Effect.provide(ProviderPacing.layer))
  )

  it.effect(
    "a 429 without limit headers on a quiet key: the refused chat's turn is a few retry-afters away, not minutes",
    () =>
      Effect.gen(function* () {
        const pacing = yield* ProviderPacing
        yield* pacing.answered("p1", undefined)
        const turn = yield* pacing.refused("p1", "a", bot, tooMany(3))
        assert.isAtLeast(turn.until, 3_000, "not before the retry-after")
        assert.isAtMost(turn.until, 4 * 3_000)
      }).pipe(Effect.provide(ProviderPacing.layer))
  )

  it.effect("a key refusing past the bound lists its bots (llm_failing) once; an answer clears it", () =>
    Effect.gen(function* () {
      const pacing = yield* ProviderPacing
      yield* pacing.refused("p1", "a", bot, tooMany(30))
      assert.deepStrictEqual(yield* pacing.stalledBots, [])
      yield* TestClock.adjust(`${defaultProviderPacing.stalledAfterMs} millis`)
      yield* pacing.refused("p1", "a", bot, tooMany(30))
      const stalled = yield* pacing.stalledBots
      assert.strictEqual(stalled.length, 1)
      assert.strictEqual(stalled[0]!.id, bot.id)
      assert.match(stalled[0]!.error, /rate limited .* for 5 min; replies wait, none is lost/)
      yield* pacing.answered("p1", undefined)
      assert.deepStrictEqual(yield* pacing.stalledBots, [])
    }).pipe(Effect.provide(ProviderPacing.layer))
  )
})
