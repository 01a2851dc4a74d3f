import { TelegramGateway } from "@botfleet/application"
import { assert, layer } from "@effect/vitest"
import { Effect, Exit, Fiber, Redacted } from "effect"
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

  it.effect("untilUpdates: empty holds are asked again with the later timeout until an update comes", () =>
    Effect.gen(function* () {
      const log = yield* TelegramMemoryLog
      const telegram = yield* TelegramGateway
      const polled = Redacted.make("43:until-updates")
      yield* log.registerBot(polled, { ...BOT, id: 43 })
      const polls = () =>
        log.calls.pipe(Effect.map((calls) => calls.filter((call) => call.method === "getUpdates").length))
      const before = yield* polls()
      const waiting = yield* Effect.forkChild(
        telegram.getUpdates(polled, { offset: 0, timeoutSeconds: 5, untilUpdates: { timeoutSeconds: 30 } })
      )
      yield* TestClock.adjust("5 seconds")
      yield* TestClock.adjust("30 seconds")
      // The first hold (5 s) and the second (30 s) ended empty: a third is held now.
      assert.strictEqual((yield* polls()) - before, 3)
      yield* log.pushUpdate(polled, { update_id: 9, message: { text: "at last" } })
      assert.deepStrictEqual(yield* Fiber.join(waiting), [{ update_id: 9, message: { text: "at last" } }])
    })
  )

  it.effect("watchUpdates calls back once with the updates; a released watch never calls back", () =>
    Effect.gen(function* () {
      const log = yield* TelegramMemoryLog
      const telegram = yield* TelegramGateway
      const watched = Redacted.make("44:watched")
      yield* log.registerBot(watched, { ...BOT, id: 44 })
      yield* log.pushUpdate(watched, { update_id: 3, message: { text: "queued" } })
      const answer = yield* Effect.callback<Exit.Exit<ReadonlyArray<unknown>, unknown>>((resume) => {
        telegram.watchUpdates(watched, { offset: 0, timeoutSeconds: 30 }, (exit) =>
          resume(Effect.succeed(exit))
        )
      })
      assert.isTrue(Exit.isSuccess(answer))
      assert.deepStrictEqual(Exit.isSuccess(answer) ? answer.value : [], [
        { update_id: 3, message: { text: "queued" } }
      ])

      let called = 0
      const release = telegram.watchUpdates(watched, { offset: 4, timeoutSeconds: 30 }, () => {
        called++
      })
      release()
      yield* log.pushUpdate(watched, { update_id: 4, message: { text: "nobody watches" } })
      yield* Effect.promise(() => new Promise((resolve) => setTimeout(resolve, 50)))
      assert.strictEqual(called, 0)
    })
  )
})
