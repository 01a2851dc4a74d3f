import { BotId } from "@botfleet/domain"
import { assert, describe, it } from "@effect/vitest"
import { Clock, type Duration, Effect, Fiber } from "effect"
import { TestClock } from "effect/testing"
import { SendBudget, telegramLimits } from "../../src/pipeline/sendBudget.ts"

const bot = BotId.make("6f1c7a38-6b1e-4c55-9a53-3f4d2b6f0a11")
const other = BotId.make("7f1c7a38-6b1e-4c55-9a53-3f4d2b6f0a11")

/** Starts every take at virtual time 0 and returns when each one was let through (ms). */
const release = (takes: ReadonlyArray<readonly [BotId, number, string]>, runFor: Duration.Input) =>
  Effect.gen(function* () {
    const budget = yield* SendBudget
    const fibers = yield* Effect.forEach(takes, ([botId, chatId, type]) =>
      Effect.forkChild(Effect.andThen(budget.take(botId, chatId, type), Clock.currentTimeMillis))
    )
    yield* TestClock.adjust(runFor)
    return yield* Effect.forEach(fibers, Fiber.join)
  }).pipe(Effect.provide(SendBudget.layer))

describe("SendBudget", () => {
  it.effect("per bot: a burst at once, then at the bot's rate", () =>
    Effect.gen(function* () {
      const { burst, perSecond } = telegramLimits.perBot
      const times = yield* release(
        Array.from({ length: burst + 50 }, (_, i) => [bot, 1_000 + i, "private"] as const),
        "10 seconds"
      )
      assert.strictEqual(times.filter((t) => t === 0).length, burst)
      // The 50 after the burst take 50 / rate seconds, no faster.
      assert.isAtLeast(Math.max(...times), Math.floor((50 / perSecond) * 1000) - 1)
      for (let second = 0; second < 3; second++) {
        const inWindow = times.filter((t) => t > second * 1000 && t <= (second + 1) * 1000).length
        assert.isAtMost(inWindow, Math.ceil(perSecond))
      }
    })
  )

  it.effect("per chat: a short burst, then about one a second; other bots and chats do not wait", () =>
    Effect.gen(function* () {
      const { burst, perSecond } = telegramLimits.perChat
      const times = yield* release(
        [
          ...Array.from({ length: burst + 3 }, () => [bot, 42, "private"] as const),
          [bot, 43, "private"] as const,
          [other, 42, "private"] as const
        ],
        "10 seconds"
      )
      const chat = times.slice(0, burst + 3)
      assert.deepStrictEqual(chat.slice(0, burst), Array(burst).fill(0))
      const spacing = 1000 / perSecond
      for (let i = burst; i < chat.length; i++) {
        assert.isAtLeast(chat[i]! - chat[i - 1]!, Math.floor(spacing) - 1)
      }
      assert.deepStrictEqual(times.slice(burst + 3), [0, 0])
    })
  )

  it.effect("groups get the slower group rate", () =>
    Effect.gen(function* () {
      const { burst, perSecond } = telegramLimits.perGroup
      const times = yield* release(
        Array.from({ length: burst + 1 }, () => [bot, -100_42, "supergroup"] as const),
        "30 seconds"
      )
      assert.isAtLeast(times.at(-1)!, Math.floor(1000 / perSecond) - 1)
    })
  )
})

describe("SendBudget learns from 429s", () => {
  it.effect(
    "per chat: no burst beyond one message; a 429 halves the chat's rate, which recovers slowly",
    () =>
      Effect.gen(function* () {
        const budget = yield* SendBudget
        const { perSecond } = telegramLimits.perChat
        // Two at once: the second waits a whole interval (no burst of several).
        const [first, second] = yield* release(
          [
            [bot, 7, "private"],
            [bot, 7, "private"]
          ],
          "5 seconds"
        )
        assert.strictEqual(first, 0)
        assert.isAtLeast(second! - first!, Math.floor(1000 / perSecond) - 1)

        const fresh = Effect.provide(
          Effect.gen(function* () {
            const paced = yield* SendBudget
            yield* paced.take(bot, 9, "private")
            const before = yield* Clock.currentTimeMillis
            yield* paced.refused(bot, 9, "private", 3)
            // Shut for retry_after, then at half the rate: two sends take at least 3 s + 2 intervals.
            const fiber = yield* Effect.forkChild(
              Effect.andThen(
                Effect.all([paced.take(bot, 9, "private"), paced.take(bot, 9, "private")]),
                Clock.currentTimeMillis
              )
            )
            yield* TestClock.adjust("20 seconds")
            const after = yield* Fiber.join(fiber)
            // Clearly slower than at the base rate (3 s + two intervals); the rate climbs back meanwhile.
            assert.isAtLeast(after - before, 3_000 + (2 * 1000) / perSecond + 1_000)
            // A minute later the rate is back: sends one interval apart again.
            yield* TestClock.adjust(`${telegramLimits.learning.recoverMs} millis`)
            yield* paced.take(bot, 9, "private")
            const t0 = yield* Clock.currentTimeMillis
            const next = yield* Effect.forkChild(
              Effect.andThen(paced.take(bot, 9, "private"), Clock.currentTimeMillis)
            )
            yield* TestClock.adjust("5 seconds")
            assert.isAtMost((yield* Fiber.join(next)) - t0, Math.ceil(1000 / perSecond) + 1)
          }),
          SendBudget.layer
        )
        yield* fresh
        void budget
      }).pipe(Effect.provide(SendBudget.layer))
  )

  it.effect("429s in two chats of a bot within two seconds slow the bot too; one chat's do not", () =>
    Effect.gen(function* () {
      const budget = yield* SendBudget
      yield* budget.refused(bot, 1, "private", 2)
      // One chat refused: the bot's other chats go at once.
      const [other] = yield* Effect.all([
        Effect.andThen(budget.take(bot, 2, "private"), Clock.currentTimeMillis)
      ])
      assert.strictEqual(other, 0)
      yield* budget.refused(bot, 3, "private", 2)
      // Two chats refused: the whole bot waits out the retry_after.
      const fiber = yield* Effect.forkChild(
        Effect.andThen(budget.take(bot, 4, "private"), Clock.currentTimeMillis)
      )
      yield* TestClock.adjust("10 seconds")
      assert.isAtLeast(yield* Fiber.join(fiber), 2_000)
    }).pipe(Effect.provide(SendBudget.layer))
  )

  it.effect("a long wait is Paced with the chat's turn kept; back at its turn it goes at once", () =>
    Effect.gen(function* () {
      const budget = yield* SendBudget
      const { burst, perSecond } = telegramLimits.perBot
      // Use up the bot's budget with other chats (short waits sleep, so these run on their own).
      for (let i = 0; i < burst + 100; i++) {
        yield* Effect.forkChild(budget.takeOrPace(bot, 10_000 + i, "private").pipe(Effect.ignore))
      }
      yield* Effect.yieldNow
      const paced = yield* Effect.flip(budget.takeOrPace(bot, 77, "private"))
      assert.strictEqual(paced._tag, "Paced")
      assert.isAtLeast(paced.until, Math.floor((100 / perSecond) * 1000))
      // Coming back early changes nothing: the same turn.
      const again = yield* Effect.flip(budget.takeOrPace(bot, 77, "private"))
      assert.strictEqual(again.until, paced.until)
      yield* TestClock.adjust(`${paced.until} millis`)
      const fiber = yield* Effect.forkChild(
        Effect.andThen(budget.takeOrPace(bot, 77, "private"), Clock.currentTimeMillis)
      )
      yield* TestClock.adjust("1 millis")
      assert.isAtMost(yield* Fiber.join(fiber), paced.until + 1)
    }).pipe(Effect.provide(SendBudget.layer))
  )

  it.effect("drafts never wait, and only use what replies leave", () =>
    Effect.gen(function* () {
      const budget = yield* SendBudget
      assert.isTrue(yield* budget.tryDraft(bot, 5, "private"))
      // The chat's token is spent: the next draft within the interval is skipped, not queued.
      assert.isFalse(yield* budget.tryDraft(bot, 5, "private"))
      yield* TestClock.adjust(`${Math.ceil(1000 / telegramLimits.perChat.perSecond)} millis`)
      assert.isTrue(yield* budget.tryDraft(bot, 5, "private"))
      // With the bot's budget at less than half its burst, drafts stop; replies still go.
      for (let i = 0; i < telegramLimits.perBot.burst; i++) yield* budget.take(other, 20_000 + i, "private")
      assert.isFalse(yield* budget.tryDraft(other, 6, "private"))
    }).pipe(Effect.provide(SendBudget.layer))
  )
})
