import { assert, describe, it } from "@effect/vitest"
import { Bot } from "../src/Bot.ts"
import { Chat } from "../src/Chat.ts"
import { BotId, ChatId, TelegramChatId } from "../src/ids.ts"
import { planReply, REFRESH_REPLY, UNKNOWN_COMMAND_REPLY, unsupportedReply } from "../src/planReply.ts"

const at = new Date("2026-01-01T00:00:00Z")
const bot = new Bot({
  id: BotId.make("6f1c7a38-6b1e-4c55-9a53-3f4d2b6f0a11"),
  name: "Helper",
  tokenCiphertext: "v1:…",
  tokenHint: "123:…abcd",
  telegramBotId: 123,
  username: "helper_bot",
  webhookSecret: "s3cret",
  model: null,
  systemPrompt: "",
  startMessage: "Welcome!",
  helpMessage: "Ask me anything.",
  errorMessage: "sorry",
  historyLimit: 20,
  active: true,
  lastError: null,
  lastErrorAt: null,
  pollingOffset: 0,
  createdAt: at,
  updatedAt: at
})
const chat = new Chat({
  id: ChatId.make("0b0c0d0e-6b1e-4c55-9a53-3f4d2b6f0a11"),
  botId: bot.id,
  telegramChatId: TelegramChatId.make(42),
  type: "private",
  title: null,
  tgUserId: null,
  thread: 1,
  lastError: null,
  lastMessageAt: null,
  createdAt: at
})
const plan = (text: string, unsupported: string | null = null) =>
  planReply(bot, chat, { text, unsupported, replyToUserId: null, fromChannel: false })

describe("planReply", () => {
  it("plain text asks the model", () => {
    assert.deepStrictEqual(plan("what is 2+2?"), { _tag: "AskModel" })
  })

  it("/start and /help answer with the bot's own texts", () => {
    assert.deepStrictEqual(plan("/start"), { _tag: "FixedAnswer", text: "Welcome!" })
    assert.deepStrictEqual(plan("/help@helper_bot"), { _tag: "FixedAnswer", text: "Ask me anything." })
  })

  it("/refresh starts a new thread", () => {
    assert.deepStrictEqual(plan("/refresh"), { _tag: "NewThread", text: REFRESH_REPLY })
  })

  it("an unknown command gets the help text", () => {
    assert.deepStrictEqual(plan("/nope"), {
      _tag: "FixedAnswer",
      text: `${UNKNOWN_COMMAND_REPLY} Ask me anything.`
    })
  })

  it("a command for another bot is just text for the model", () => {
    assert.deepStrictEqual(plan("/help@other_bot"), { _tag: "AskModel" })
  })

  it("content we cannot read gets a fixed answer naming it", () => {
    assert.deepStrictEqual(plan("", "voice"), { _tag: "FixedAnswer", text: unsupportedReply("voice") })
  })
})
