import { TelegramGateway } from "@botfleet/application"
import { assert, layer } from "@effect/vitest"
import { Effect, Fiber, Redacted } from "effect"
import { TestClock } from "effect/testing"
import {
  layerMemory,
  TelegramErrors,
  TelegramMemoryLog
} from "../../src/telegramGateway/TelegramGatewayMemory.ts"

const token = Redacted.make("42:memory-token")
const BOT = { id: 42, username: "memory_bot", firstName: "Memory" }

layer(layerMemory)("TelegramGatewayMemory", (it) => {
  it.effect("answers getMe for registered bots only", () =>
    Effect.gen(function* () {
      const log = yield* TelegramMemoryLog
      const telegram = yield* TelegramGateway
      const unknown = yield* Effect.flip(telegram.getMe(Redacted.make("1:never-registered")))
      assert.strictEqual(unknown.kind, "unauthorized")
      yield* log.registerBot(token, BOT)
      assert.deepStrictEqual(yield* telegram.getMe(token), BOT)
    })
  )

  it.effect("records messages per chat with increasing ids, actions and callback answers", () =>
    Effect.gen(function* () {
      const log = yield* TelegramMemoryLog
      const telegram = yield* TelegramGateway
      yield* log.registerBot(token, BOT)
      const first = yield* telegram.sendMessage(token, { chatId: 1, text: "*hi*", parseMode: "MarkdownV2" })
      const second = yield* telegram.sendMessage(token, { chatId: 1, text: "again", replyToMessageId: 5 })
      yield* telegram.sendMessage(token, { chatId: 2, text: "elsewhere" })
      yield* telegram.sendChatAction(token, 1, "typing")
      yield* telegram.answerCallbackQuery(token, "cb", "ok")
      assert.isAbove(second.messageId, first.messageId)
      assert.deepStrictEqual(
        (yield* log.sentTo(1)).map(({ text, parseMode, replyToMessageId }) => ({
          text,
          parseMode,
          replyToMessageId
        })),
        [
          { text: "*hi*", parseMode: "MarkdownV2", replyToMessageId: null },
          { text: "again", parseMode: null, replyToMessageId: 5 }
        ]
      )
      assert.deepStrictEqual(yield* log.chatActions, [{ botId: 42, chatId: 1, action: "typing" }])
      assert.deepStrictEqual(yield* log.callbackAnswers, [{ botId: 42, callbackQueryId: "cb", text: "ok" }])
    })
  )

  it.effect("fails the next calls as scripted, then recovers", () =>
    Effect.gen(function* () {
      const log = yield* TelegramMemoryLog
      const telegram = yield* TelegramGateway
      yield* log.registerBot(token, BOT)
      yield* log.failNext("sendMessage", TelegramErrors.entityParse(), 2)
      const input = { chatId: 3, text: "*broken", parseMode: "Markdown" } as const
      assert.isTrue((yield* Effect.flip(telegram.sendMessage(token, input))).isEntityParseError)
      assert.isTrue((yield* Effect.flip(telegram.sendMessage(token, input))).isEntityParseError)
      yield* telegram.sendMessage(token, { chatId: 3, text: "*broken" })
      assert.strictEqual((yield* log.sentTo(3)).length, 1)
      const tooLong = yield* Effect.flip(telegram.sendMessage(token, { chatId: 3, text: "x".repeat(4097) }))
      assert.strictEqual(tooLong.kind, "bad_request")
    })
  )

  it.effect("records webhooks set and removed", () =>
    Effect.gen(function* () {
      const log = yield* TelegramMemoryLog
      const telegram = yield* TelegramGateway
      yield* log.registerBot(token, BOT)
      yield* telegram.setWebhook(token, { url: "https://x.test/telegram/webhook/b1", secretToken: "s" })
      assert.strictEqual((yield* telegram.getWebhookInfo(token)).url, "https://x.test/telegram/webhook/b1")
      yield* telegram.deleteWebhook(token)
      const events = yield* log.webhookEvents
      assert.deepStrictEqual(
        events.slice(-2).map((event) => event.type),
        ["set", "deleted"]
      )
      assert.strictEqual((yield* telegram.getWebhookInfo(token)).url, "")
    })
  )

  it.effect("getUpdates holds on the test clock until an update is pushed or the timeout passes", () =>
    Effect.gen(function* () {
      const log = yield* TelegramMemoryLog
      const telegram = yield* TelegramGateway
      yield* log.registerBot(token, BOT)
      const empty = yield* Effect.forkChild(telegram.getUpdates(token, { offset: 0, timeoutSeconds: 30 }))
      yield* TestClock.adjust("30 seconds")
      assert.deepStrictEqual(yield* Fiber.join(empty), [])

      const waiting = yield* Effect.forkChild(telegram.getUpdates(token, { offset: 0, timeoutSeconds: 30 }))
      yield* Effect.yieldNow
      yield* log.pushUpdate(token, { update_id: 7, message: { text: "hi" } })
      assert.deepStrictEqual(yield* Fiber.join(waiting), [{ update_id: 7, message: { text: "hi" } }])
      assert.deepStrictEqual(yield* telegram.getUpdates(token, { offset: 8, timeoutSeconds: 0 }), [])
    })
  )
})
