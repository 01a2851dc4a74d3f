import { assert, describe, it } from "@effect/vitest"
import { Bot } from "../src/Bot.ts"
import { Chat } from "../src/Chat.ts"
import { ChatId, TelegramChatId } from "../src/ids.ts"
import { emptyTranscriptReply, type IncomingRecording } from "../src/media.ts"
import {
  planReply,
  planTranscript,
  REFRESH_REPLY,
  type ReplyPlan,
  UNKNOWN_COMMAND_REPLY,
  unsupportedReply
} from "../src/planReply.ts"
import { at, testBot } from "./fixtures.ts"

const bot = testBot()
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
  planReply(bot, chat, { text, unsupported, replyToUserId: null, fromChannel: false }, 7)

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

  it("/usage shows the sender's use", () => {
    assert.deepStrictEqual(plan("/usage"), { _tag: "ShowUsage" })
    assert.deepStrictEqual(plan("/memory"), { _tag: "ShowMemory" })
    assert.deepStrictEqual(plan("/memory forget all"), { _tag: "ShowMemory" })
  })
})

describe("planReply: access", () => {
  const privateBot = new Bot({
    ...bot,
    access: "allowlist",
    allowedUserIds: [1, 2],
    deniedMessage: "Private."
  })
  const groupChat = new Chat({ ...chat, telegramChatId: TelegramChatId.make(-100), type: "supergroup" })
  const refused: ReplyPlan = { _tag: "Refuse", reason: "not_allowed", text: "Private." }

  it("an allowlist lets its users in and refuses everyone else, /start included", () => {
    assert.deepStrictEqual(
      planReply(
        privateBot,
        chat,
        { text: "hi", unsupported: null, replyToUserId: null, fromChannel: false },
        1
      ),
      {
        _tag: "AskModel"
      }
    )
    assert.deepStrictEqual(
      planReply(
        privateBot,
        chat,
        { text: "hi", unsupported: null, replyToUserId: null, fromChannel: false },
        3
      ),
      refused
    )
    assert.deepStrictEqual(
      planReply(
        privateBot,
        chat,
        { text: "/start", unsupported: null, replyToUserId: null, fromChannel: false },
        3
      ),
      refused
    )
    assert.deepStrictEqual(
      planReply(
        privateBot,
        chat,
        { text: "", unsupported: "photo", replyToUserId: null, fromChannel: false },
        3
      ),
      refused
    )
    assert.deepStrictEqual(
      planReply(
        privateBot,
        chat,
        { text: "hi", unsupported: null, replyToUserId: null, fromChannel: false },
        null
      ),
      refused
    )
  })

  it("an allowed chat lets anyone in it talk", () => {
    const withGroup = new Bot({ ...privateBot, allowedChatIds: [-100] })
    // In a group the message must be meant for the bot (groupMode "mention") before access is asked.
    const mention = `@${withGroup.username} hi`
    assert.deepStrictEqual(
      planReply(
        withGroup,
        groupChat,
        { text: mention, unsupported: null, replyToUserId: null, fromChannel: false },
        99
      ),
      {
        _tag: "AskModel"
      }
    )
    assert.deepStrictEqual(
      planReply(
        withGroup,
        chat,
        { text: "hi", unsupported: null, replyToUserId: null, fromChannel: false },
        99
      ),
      refused
    )
  })

  it("a blocked user is refused even on an open bot and in an allowed chat", () => {
    const open = new Bot({ ...bot, blockedUserIds: [5], allowedChatIds: [-100] })
    const blocked: ReplyPlan = { _tag: "Refuse", reason: "blocked", text: open.deniedMessage }
    assert.deepStrictEqual(
      planReply(open, chat, { text: "hi", unsupported: null, replyToUserId: null, fromChannel: false }, 5),
      blocked
    )
    assert.deepStrictEqual(
      planReply(
        open,
        groupChat,
        { text: "/help", unsupported: null, replyToUserId: null, fromChannel: false },
        5
      ),
      blocked
    )
    assert.deepStrictEqual(
      planReply(open, chat, { text: "hi", unsupported: null, replyToUserId: null, fromChannel: false }, 6),
      { _tag: "AskModel" }
    )
  })

  it("a bot is open by default", () => {
    assert.strictEqual(bot.access, "open")
    assert.deepStrictEqual(
      planReply(bot, chat, { text: "hi", unsupported: null, replyToUserId: null, fromChannel: false }, 123),
      { _tag: "AskModel" }
    )
  })
})

describe("planReply: recordings", () => {
  const voice: IncomingRecording = {
    kind: "voice",
    fileId: "voice-1",
    durationSeconds: 3,
    fileSize: 1_000,
    transcribed: false
  }
  const content = { text: "", unsupported: null, replyToUserId: null, fromChannel: false, recording: voice }

  it("a recording not yet transcribed is planned as Transcribe, with the recording to fetch", () => {
    assert.deepStrictEqual(planReply(bot, chat, content, 7), { _tag: "Transcribe", recording: voice })
  })

  it("a transcript is planned as the text it said", () => {
    assert.deepStrictEqual(planTranscript(bot, chat, content, voice, "what is 2+2?", 7), { _tag: "AskModel" })
    assert.deepStrictEqual(planTranscript(bot, chat, content, voice, "/start", 7), {
      _tag: "FixedAnswer",
      text: "Welcome!"
    })
  })

  it("a transcript without words is answered without the model", () => {
    assert.deepStrictEqual(planTranscript(bot, chat, content, voice, "  ", 7), {
      _tag: "FixedAnswer",
      text: emptyTranscriptReply("voice")
    })
  })

  it("a transcript is planned exactly as planReply plans the transcribed message", () => {
    for (const said of ["hello", "/help", "/refresh", "/usage", "/nope", ""]) {
      assert.deepStrictEqual(
        planTranscript(bot, chat, content, voice, said, 7),
        planReply(bot, chat, { ...content, text: said, recording: { ...voice, transcribed: true } }, 7)
      )
    }
  })
})
