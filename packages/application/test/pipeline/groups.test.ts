/**
 * Bots in groups: only messages meant for the bot are answered; the rest are
 * stored as context without a model call, and the model reads who spoke.
 */
import { LanguageModelMemory, TelegramGatewayMemory } from "@botfleet/adapters"
import { BotService } from "@botfleet/application"
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { addBot, harness, messagesOf, processUpdate } from "../harness.ts"

const { TelegramMemoryLog } = TelegramGatewayMemory
const { LanguageModelMemoryControl } = LanguageModelMemory

const GROUP_ID = -100_200
const BOT_TELEGRAM_ID = 700_001
const ADA = { id: 5_001, is_bot: false, first_name: "Ada", last_name: "Lovelace", username: "ada" }
const BOB = { id: 5_002, is_bot: false, first_name: "Bob" }
const group = { id: GROUP_ID, type: "supergroup", title: "Team" }

const groupMessage = (updateId: number, text: string, more: Record<string, unknown> = {}) => ({
  update_id: updateId,
  message: { message_id: updateId, date: 1_700_000_000, chat: group, from: ADA, text, ...more }
})

const sentToGroup = TelegramMemoryLog.use((log) =>
  Effect.map(log.sentTo(GROUP_ID), (sent) => sent.map((message) => message.text))
)
const llmRequests = LanguageModelMemoryControl.use((control) => control.requests)

describe("groups (mention mode, the default)", () => {
  it.effect("chatter is stored without a model call; a mention is answered with it as context", () =>
    Effect.gen(function* () {
      const { bot } = yield* addBot({ telegramId: BOT_TELEGRAM_ID, username: "helper_bot" })
      yield* processUpdate(bot, groupMessage(1, "lunch at noon?"))
      yield* processUpdate(bot, groupMessage(2, "sure", { from: BOB }))
      assert.deepStrictEqual(yield* llmRequests, [])
      assert.deepStrictEqual(yield* sentToGroup, [])
      yield* processUpdate(bot, groupMessage(3, "@helper_bot where should we go?"))
      const requests = yield* llmRequests
      assert.strictEqual(requests.length, 1)
      assert.deepStrictEqual(requests[0]?.messages, [
        { role: "user", content: "Ada Lovelace: lunch at noon?" },
        { role: "user", content: "Bob: sure" },
        { role: "user", content: "Ada Lovelace: @helper_bot where should we go?" }
      ])
      assert.deepStrictEqual(yield* sentToGroup, ["echo: Ada Lovelace: @helper_bot where should we go?"])
      const stored = yield* messagesOf(bot, GROUP_ID)
      assert.deepStrictEqual(
        stored.map((message) => [message.role, message.senderName, message.text]),
        [
          ["user", "Ada Lovelace", "lunch at noon?"],
          ["user", "Bob", "sure"],
          ["user", "Ada Lovelace", "@helper_bot where should we go?"],
          ["assistant", null, "echo: Ada Lovelace: @helper_bot where should we go?"]
        ]
      )
      assert.strictEqual(stored[0]?.status, "received")
    }).pipe(Effect.provide(harness()))
  )

  it.effect("a reply to the bot's message and a command addressed to it are answered", () =>
    Effect.gen(function* () {
      const { bot } = yield* addBot({ telegramId: BOT_TELEGRAM_ID, username: "helper_bot" })
      const botAccount = { id: BOT_TELEGRAM_ID, is_bot: true, first_name: "helper_bot" }
      yield* processUpdate(
        bot,
        groupMessage(1, "and tomorrow?", { reply_to_message: { message_id: 9, from: botAccount } })
      )
      yield* processUpdate(bot, groupMessage(2, "/help@helper_bot"))
      yield* processUpdate(
        bot,
        groupMessage(3, "not you", { reply_to_message: { message_id: 8, from: BOB } })
      )
      yield* processUpdate(bot, groupMessage(4, "/weather"))
      yield* processUpdate(bot, groupMessage(5, "/help@other_bot"))
      assert.deepStrictEqual(yield* sentToGroup, ["echo: Ada Lovelace: and tomorrow?", bot.helpMessage])
      assert.strictEqual((yield* llmRequests).length, 1)
      assert.strictEqual((yield* messagesOf(bot, GROUP_ID)).length, 7)
    }).pipe(Effect.provide(harness()))
  )

  it.effect("a channel's post is stored under the channel's name and never answered", () =>
    Effect.gen(function* () {
      const { bot } = yield* addBot({ telegramId: BOT_TELEGRAM_ID, username: "helper_bot" })
      // Telegram sends channel posts in a discussion group from a placeholder account.
      const placeholder = { id: 136_817_688, is_bot: true, first_name: "Channel", username: "Channel_Bot" }
      yield* processUpdate(
        bot,
        groupMessage(1, "@helper_bot new release out", {
          from: placeholder,
          sender_chat: { id: -100_999, type: "channel", title: "Release notes" },
          is_automatic_forward: true
        })
      )
      assert.deepStrictEqual(yield* sentToGroup, [])
      assert.deepStrictEqual(yield* llmRequests, [])
      const [stored, ...rest] = yield* messagesOf(bot, GROUP_ID)
      assert.deepStrictEqual(rest, [])
      assert.strictEqual(stored?.text, "@helper_bot new release out")
      assert.strictEqual(stored?.senderName, "Release notes")
      // The placeholder account is not taken for a person.
      assert.strictEqual(stored?.tgUserId, null)
    }).pipe(Effect.provide(harness()))
  )
})

describe("groups: other modes", () => {
  it.effect("all answers every message; off answers none (not even /start) but still stores them", () =>
    Effect.gen(function* () {
      const { bot } = yield* addBot({ telegramId: BOT_TELEGRAM_ID, username: "helper_bot", groupMode: "all" })
      yield* processUpdate(bot, groupMessage(1, "lunch at noon?"))
      assert.deepStrictEqual(yield* sentToGroup, ["echo: Ada Lovelace: lunch at noon?"])
      yield* BotService.use((service) => service.update(bot.id, { groupMode: "off" }))
      // The pipeline reuses a loaded bot for a second; the harness moves the clock on per update.
      yield* processUpdate(bot, groupMessage(2, "@helper_bot hello?"))
      yield* processUpdate(bot, groupMessage(3, "/start"))
      assert.deepStrictEqual(yield* sentToGroup, ["echo: Ada Lovelace: lunch at noon?"])
      assert.strictEqual((yield* llmRequests).length, 1)
      assert.strictEqual((yield* messagesOf(bot, GROUP_ID)).length, 4)
    }).pipe(Effect.provide(harness()))
  )
})
