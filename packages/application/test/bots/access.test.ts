/**
 * Access and limits on the in-memory twins: who gets an answer,
 * who gets one refusal, and when the model is never asked.
 */
import { LanguageModelMemory, TelegramGatewayMemory } from "@botfleet/adapters"
import { BotService, UsageLedger } from "@botfleet/application"
import type { Bot } from "@botfleet/domain"
import { assert, describe, it } from "@effect/vitest"
import { Clock, Effect } from "effect"
import { TestClock } from "effect/testing"
import { addBot, harness, processUpdate } from "../harness.ts"

const { TelegramMemoryLog } = TelegramGatewayMemory
const { LanguageModelMemoryControl } = LanguageModelMemory

/** A private-chat text message from Telegram user `userId`. */
const from = (updateId: number, userId: number, text: string) => ({
  update_id: updateId,
  message: {
    message_id: updateId,
    date: 1_700_000_000,
    chat: { id: userId, type: "private", first_name: `user${userId}` },
    from: { id: userId, is_bot: false, first_name: `user${userId}` },
    text
  }
})

const sentTo = (chatId: number) =>
  TelegramMemoryLog.use((log) =>
    Effect.map(log.sentMessages, (sent) => sent.filter((m) => m.chatId === chatId).map((m) => m.text))
  )
const llmCalls = LanguageModelMemoryControl.use((control) => Effect.map(control.requests, (r) => r.length))

let updateId = 0
const send = (bot: Bot, userId: number, text: string) => processUpdate(bot, from(++updateId, userId, text))

describe("access per bot", () => {
  it.effect(
    "one PATCH makes a bot private to two users; a third gets one polite refusal, no model call",
    () =>
      Effect.gen(function* () {
        const { bot } = yield* addBot()
        const service = yield* BotService
        const updated = yield* service.update(bot.id, {
          access: "allowlist",
          allowedUserIds: [101, 102],
          deniedMessage: "This bot is private."
        })
        assert.strictEqual(updated.access, "allowlist")
        yield* send(updated, 101, "hello")
        yield* send(updated, 102, "hi")
        assert.deepStrictEqual(yield* sentTo(101), ["echo: hello"])
        assert.deepStrictEqual(yield* sentTo(102), ["echo: hi"])
        assert.strictEqual(yield* llmCalls, 2)

        yield* send(updated, 103, "/start")
        yield* send(updated, 103, "please answer")
        yield* send(updated, 103, "/help")
        assert.deepStrictEqual(yield* sentTo(103), ["This bot is private."])
        assert.strictEqual(yield* llmCalls, 2)

        // The next UTC day the stranger is told once more.
        yield* TestClock.adjust("1 day")
        yield* send(updated, 103, "again")
        assert.deepStrictEqual(yield* sentTo(103), ["This bot is private.", "This bot is private."])
        assert.strictEqual(yield* llmCalls, 2)
      }).pipe(Effect.provide(harness()))
  )

  it.effect("stranger spam: 1,000 messages from 100 users, 0 model calls, 100 refusals", () =>
    Effect.gen(function* () {
      const { bot } = yield* addBot()
      const private_ = yield* (yield* BotService).update(bot.id, { access: "allowlist", allowedUserIds: [1] })
      for (let round = 0; round < 10; round++) {
        for (let user = 0; user < 100; user++) yield* send(private_, 10_000 + user, `spam ${round}`)
      }
      const log = yield* TelegramMemoryLog
      const sent = yield* log.sentMessages
      assert.strictEqual(yield* llmCalls, 0)
      assert.strictEqual(sent.length, 100)
      assert.strictEqual(new Set(sent.map((m) => m.chatId)).size, 100)
      // Each refusal is counted, per user and for the bot.
      const ledger = yield* UsageLedger
      const page = yield* ledger.listUsers(bot.id, new Date(yield* Clock.currentTimeMillis), { limit: 200 })
      assert.strictEqual(page.items.length, 100)
      assert.isTrue(page.items.every((user) => user.today.denied === 10 && user.today.messages === 0))
    }).pipe(Effect.provide(harness()))
  )

  it.effect("a blocked user is refused on an open bot; unblocked, they are answered again", () =>
    Effect.gen(function* () {
      const { bot } = yield* addBot()
      const service = yield* BotService
      const blocked = yield* service.setBlocked(bot.id, 201, true)
      assert.deepStrictEqual(blocked.blockedUserIds, [201])
      yield* send(blocked, 201, "hello")
      yield* send(blocked, 202, "hello")
      assert.deepStrictEqual(yield* sentTo(201), [blocked.deniedMessage])
      assert.deepStrictEqual(yield* sentTo(202), ["echo: hello"])
      const unblocked = yield* service.setBlocked(bot.id, 201, false)
      assert.deepStrictEqual(unblocked.blockedUserIds, [])
      yield* send(unblocked, 201, "back")
      assert.deepStrictEqual(yield* sentTo(201), [blocked.deniedMessage, "echo: back"])
    }).pipe(Effect.provide(harness()))
  )
})

describe("limits per user", () => {
  it.effect("userMessagesPerDay: 3 gives three answers, then one limit message with the reset time", () =>
    Effect.gen(function* () {
      const { bot } = yield* addBot()
      const limited = yield* (yield* BotService).update(bot.id, { limits: { userMessagesPerDay: 3 } })
      assert.strictEqual(limited.limits.userMessagesPerDay, 3)
      assert.strictEqual(limited.limits.userMessagesPerMinute, null)
      for (const text of ["one", "two", "three", "four", "five"]) yield* send(limited, 301, text)
      const sent = yield* sentTo(301)
      assert.deepStrictEqual(sent.slice(0, 3), ["echo: one", "echo: two", "echo: three"])
      // TestClock starts at 1970-01-01; the day resets at midnight UTC.
      assert.deepStrictEqual(sent.slice(3), [
        "You have reached the messages per day limit. It resets at 1970-01-02 00:00 UTC."
      ])
      assert.strictEqual(yield* llmCalls, 3)

      yield* send(limited, 301, "/usage")
      const usage = (yield* sentTo(301)).at(-1) ?? ""
      assert.include(usage, "Messages today: 3 of 3 (resets 1970-01-02 00:00 UTC)")
      // Another user has their own count.
      yield* send(limited, 302, "hello")
      assert.deepStrictEqual(yield* sentTo(302), ["echo: hello"])

      yield* TestClock.adjust("1 day")
      yield* send(limited, 301, "new day")
      assert.strictEqual((yield* sentTo(301)).at(-1), "echo: new day")
    }).pipe(Effect.provide(harness()))
  )

  it.effect("a bot budget: reached, the next message is refused, and the model is not asked", () =>
    Effect.gen(function* () {
      const { bot } = yield* addBot()
      // Each answer costs 2 input + 3 output tokens of test-model: 8e-6 USD (see HandleUpdate.test.ts).
      const limited = yield* (yield* BotService).update(bot.id, {
        historyLimit: 1,
        limits: { botUsdPerMonth: 8e-6 * 3 },
        limitMessage: "Budget spent until {reset}."
      })
      for (let i = 0; i < 5; i++) yield* send(limited, 400 + i, "hello there")
      assert.strictEqual(yield* llmCalls, 3)
      assert.deepStrictEqual(yield* sentTo(403), ["Budget spent until 1970-02-01 00:00 UTC."])
      const ledger = yield* UsageLedger
      const usage = yield* ledger.usage(bot.id, 400, new Date(yield* Clock.currentTimeMillis))
      assert.closeTo(usage.botUsdThisMonth, 8e-6 * 3, 1e-12)
    }).pipe(Effect.provide(harness()))
  )
})
