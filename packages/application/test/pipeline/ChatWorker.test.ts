import { LanguageModelMemory, TelegramGatewayMemory } from "@botfleet/adapters"
import { BotService, ChatWorker, LeaseHeld, UpdateInbox } from "@botfleet/application"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Option, Ref } from "effect"
import { TestClock } from "effect/testing"
import {
  addBot,
  claimEffects,
  deliver,
  drain,
  harness,
  messagesOf,
  receive,
  testPolicy,
  textUpdate,
  turnOf
} from "../harness.ts"

const { TelegramErrors, TelegramMemoryLog } = TelegramGatewayMemory
const { LanguageModelMemoryControl } = LanguageModelMemory

const sentTexts = TelegramMemoryLog.use((log) =>
  Effect.map(log.sentMessages, (sent) => sent.map((message) => message.text))
)
const llmRequests = LanguageModelMemoryControl.use((control) => control.requests)
const inboxStats = UpdateInbox.use((inbox) => inbox.stats)

/** Longer than any backoff of `testPolicy`, jitter included. */
const pastBackoff = `${testPolicy.maxDelayMs * 1.25 + 1_000} millis` as const

describe("ChatWorker.drain", () => {
  it.effect("answers a chat's messages in update_id order, whatever order they arrived in", () =>
    Effect.gen(function* () {
      const { bot } = yield* addBot()
      yield* receive(bot, textUpdate(12, "third"))
      yield* receive(bot, textUpdate(10, "first"))
      const chatKey = yield* receive(bot, textUpdate(11, "second"))
      assert.strictEqual(yield* drain(chatKey), "idle")
      assert.deepStrictEqual(yield* sentTexts, ["echo: first", "echo: second", "echo: third"])
      assert.deepStrictEqual(yield* inboxStats, { pending: 0, oldestPendingAgeSeconds: 0, failed: 0 })
    }).pipe(Effect.provide(harness()))
  )

  it.effect("a retryable failure puts the update back; once the backoff has passed it is answered", () =>
    Effect.gen(function* () {
      const { bot } = yield* addBot()
      yield* LanguageModelMemoryControl.use((control) => control.failNext("unavailable"))
      const chatKey = yield* receive(bot, textUpdate(1, "hello"))
      assert.strictEqual(yield* drain(chatKey), "waiting")
      assert.deepStrictEqual(yield* sentTexts, [])
      // Not due yet: the chat has nothing to do.
      assert.strictEqual(yield* drain(chatKey), "idle")
      assert.strictEqual((yield* llmRequests).length, 1)
      assert.strictEqual((yield* inboxStats).pending, 1)

      yield* TestClock.adjust(pastBackoff)
      assert.strictEqual(yield* drain(chatKey), "idle")
      assert.deepStrictEqual(yield* sentTexts, ["echo: hello"])
      assert.strictEqual((yield* inboxStats).pending, 0)
    }).pipe(Effect.provide(harness()))
  )

  it.effect("waits at least as long as Telegram's retry_after", () =>
    Effect.gen(function* () {
      const { bot } = yield* addBot()
      yield* TelegramMemoryLog.use((log) =>
        log.failNext("sendMessage", TelegramErrors.rateLimited("sendMessage", 30))
      )
      const chatKey = yield* receive(bot, textUpdate(1, "hello"))
      assert.strictEqual(yield* drain(chatKey), "waiting")
      yield* TestClock.adjust("29 seconds")
      yield* drain(chatKey)
      assert.deepStrictEqual(yield* sentTexts, [])
      yield* TestClock.adjust("2 seconds")
      yield* drain(chatKey)
      assert.deepStrictEqual(yield* sentTexts, ["echo: hello"])
      assert.strictEqual((yield* llmRequests).length, 1)
    }).pipe(Effect.provide(harness()))
  )

  it.effect(
    "after maxAttempts retryable failures the user gets the error message once; the update fails",
    () =>
      Effect.gen(function* () {
        const { bot } = yield* addBot({ errorMessage: "Sorry, not now." })
        yield* LanguageModelMemoryControl.use((control) => control.failNext("unavailable", Infinity))
        const chatKey = yield* receive(bot, textUpdate(1, "hello"))
        const outcomes: Array<string> = []
        for (let attempt = 1; attempt <= testPolicy.maxAttempts; attempt++) {
          outcomes.push(yield* drain(chatKey))
          yield* TestClock.adjust(pastBackoff)
        }
        assert.deepStrictEqual(outcomes, ["waiting", "waiting", "idle"])
        assert.strictEqual((yield* llmRequests).length, testPolicy.maxAttempts)
        assert.deepStrictEqual(yield* sentTexts, ["Sorry, not now."])
        assert.deepStrictEqual(yield* inboxStats, { pending: 0, oldestPendingAgeSeconds: 0, failed: 1 })
        const reply = (yield* messagesOf(bot)).find((message) => message.role === "assistant")
        assert.strictEqual(reply?.status, "failed")
        assert.include(reply?.error ?? "", "unavailable")
        const notices = (yield* claimEffects).filter((effect) => effect._tag === "NotifyAdmins")
        assert.strictEqual(notices.length, 1)
        // Nothing is left to retry.
        assert.strictEqual(yield* drain(chatKey), "idle")
        assert.deepStrictEqual(yield* sentTexts, ["Sorry, not now."])
      }).pipe(Effect.provide(harness()))
  )

  it.effect("BotUnavailable fails the update at once and the chat moves on", () =>
    Effect.gen(function* () {
      const { bot } = yield* addBot()
      yield* TelegramMemoryLog.use((log) =>
        log.failNext("sendMessage", TelegramErrors.unauthorized("sendMessage"))
      )
      yield* receive(bot, textUpdate(1, "first"))
      const chatKey = yield* receive(bot, textUpdate(2, "second"))
      // The first stops the bot; the second finds it disabled. Neither is retried.
      assert.strictEqual(yield* drain(chatKey), "idle")
      assert.strictEqual((yield* inboxStats).failed, 2)
      assert.strictEqual((yield* llmRequests).length, 1)

      // Re-enabled, the bot answers what comes next: the failed updates do not block the chat.
      yield* BotService.use((service) => service.enable(bot.id))
      yield* deliver(bot, textUpdate(3, "third"))
      assert.deepStrictEqual(yield* sentTexts, ["echo: third"])
      assert.deepStrictEqual(yield* inboxStats, { pending: 0, oldestPendingAgeSeconds: 0, failed: 2 })
    }).pipe(Effect.provide(harness()))
  )

  it.effect("stops with 'lost' as soon as the lease is lost", () =>
    Effect.gen(function* () {
      const { bot } = yield* addBot()
      const chatKey = yield* receive(bot, textUpdate(1, "first"))
      yield* receive(bot, textUpdate(2, "second"))
      const worker = yield* ChatWorker
      const turn = Option.getOrThrow(yield* turnOf(chatKey))
      assert.strictEqual(yield* worker.drain(turn, Effect.succeed(false)), "lost")
      assert.deepStrictEqual(yield* llmRequests, [])
      assert.strictEqual((yield* inboxStats).pending, 2)

      // Lost after the first update: the second stays for the new owner.
      const checks = yield* Ref.make(0)
      const ownerOnce = Ref.modify(checks, (n) => [n === 0, n + 1] as const)
      assert.strictEqual(yield* worker.drain(turn, ownerOnce), "lost")
      assert.deepStrictEqual(yield* sentTexts, ["echo: first"])
      assert.strictEqual((yield* inboxStats).pending, 1)
    }).pipe(Effect.provide(harness()))
  )

  it.effect("a lease lost while the reply was being made: nothing is sent, the new owner sends it once", () =>
    Effect.gen(function* () {
      const { bot } = yield* addBot()
      const chatKey = yield* receive(bot, textUpdate(1, "first"))
      const worker = yield* ChatWorker
      const turn = Option.getOrThrow(yield* turnOf(chatKey))
      // Owner when the update was taken, no longer when its answer is ready to go out.
      const outcome = yield* worker
        .drain(turn, Effect.succeed(true))
        .pipe(Effect.provideService(LeaseHeld, Effect.succeed(false)))
      assert.strictEqual(outcome, "lost")
      assert.strictEqual((yield* llmRequests).length, 1)
      assert.deepStrictEqual(yield* sentTexts, [])
      // Neither done nor failed: the update is the new owner's to finish.
      const stats = yield* inboxStats
      assert.deepStrictEqual([stats.pending, stats.failed], [1, 0])

      // The lease runs out; the new owner sends the answer already made, without asking the model again.
      yield* TestClock.adjust("61 seconds")
      assert.strictEqual(yield* drain(chatKey), "idle")
      assert.deepStrictEqual(yield* sentTexts, ["echo: first"])
      assert.strictEqual((yield* llmRequests).length, 1)
      assert.strictEqual((yield* inboxStats).pending, 0)
    }).pipe(Effect.provide(harness()))
  )
})
