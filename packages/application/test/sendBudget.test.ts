import { BotId } from "@botfleet/domain"
import { assert, describe, it } from "@effect/vitest"
import { Clock, type Duration, Effect, Fiber } from "effect"
import { TestClock } from "effect/testing"
import { SendBudget, telegramLimits } from "../src/pipeline/sendBudget.ts"

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
