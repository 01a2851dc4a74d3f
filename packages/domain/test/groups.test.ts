import { assert, describe, it } from "@effect/vitest"
import { Chat } from "../src/Chat.ts"
import { type GroupMode, isCommandForBot, mentions, speakerText } from "../src/groups.ts"
import { BotId, ChatId, TelegramChatId } from "../src/ids.ts"
import {
  type IncomingContent,
  planReply,
  type ReplyPlan,
  UNKNOWN_COMMAND_REPLY,
  unsupportedReply
} from "../src/planReply.ts"
import { at, testBot } from "./fixtures.ts"

const botWith = (groupMode?: GroupMode) => testBot(groupMode === undefined ? {} : { groupMode })
const chatOfType = (type: string) =>
  new Chat({
    id: ChatId.make("0b0c0d0e-6b1e-4c55-9a53-3f4d2b6f0a11"),
    botId: BotId.make("6f1c7a38-6b1e-4c55-9a53-3f4d2b6f0a11"),
    telegramChatId: TelegramChatId.make(-1001),
    type,
    title: "Team",
    tgUserId: null,
    thread: 1,
    lastError: null,
    lastMessageAt: null,
    createdAt: at
  })
const content = (text: string, more: Partial<IncomingContent> = {}): IncomingContent => ({
  text,
  unsupported: null,
  replyToUserId: null,
  fromChannel: false,
  ...more
})
const inGroup = (text: string, more: Partial<IncomingContent> = {}, mode?: GroupMode) =>
  planReply(botWith(mode), chatOfType("supergroup"), content(text, more), SENDER)
/** Whoever writes; every bot here is open to all. */
const SENDER = 42
const silent = (reason: string): ReplyPlan => ({ _tag: "Ignore", reason })

describe("groups: mention mode (the default)", () => {
  it("a new bot is in mention mode", () => {
    assert.strictEqual(botWith().groupMode, "mention")
  })

  it("a message that mentions @username is answered by the model", () => {
    assert.deepStrictEqual(inGroup("hey @Helper_Bot, what is 2+2?"), { _tag: "AskModel" })
    assert.deepStrictEqual(planReply(botWith(), chatOfType("group"), content("@helper_bot hi"), SENDER), {
      _tag: "AskModel"
    })
  })

  it("a reply to one of the bot's messages is answered", () => {
    assert.deepStrictEqual(inGroup("and then?", { replyToUserId: 123 }), { _tag: "AskModel" })
  })

  it("a reply to someone else, or plain chatter, is stored but not answered", () => {
    assert.deepStrictEqual(inGroup("and then?", { replyToUserId: 77 }), silent("not addressed to the bot"))
    assert.deepStrictEqual(inGroup("lunch at noon?"), silent("not addressed to the bot"))
  })

  it("a longer name that starts with the bot's is not a mention", () => {
    assert.deepStrictEqual(inGroup("ask @helper_bot2 instead"), silent("not addressed to the bot"))
  })

  it("commands: addressed ones and the bot's own bare ones are answered, other bots' are not", () => {
    assert.deepStrictEqual(inGroup("/help@helper_bot"), { _tag: "FixedAnswer", text: "Ask me anything." })
    assert.deepStrictEqual(inGroup("/start"), { _tag: "FixedAnswer", text: "Welcome!" })
    assert.deepStrictEqual(inGroup("/nope@helper_bot"), {
      _tag: "FixedAnswer",
      text: `${UNKNOWN_COMMAND_REPLY} Ask me anything.`
    })
    assert.deepStrictEqual(inGroup("/help@other_bot"), silent("not addressed to the bot"))
    assert.deepStrictEqual(inGroup("/weather"), silent("a command for another bot"))
  })

  it("media not meant for the bot is left alone; addressed media gets the clear reply", () => {
    assert.deepStrictEqual(inGroup("", { unsupported: "sticker" }), silent("not addressed to the bot"))
    assert.deepStrictEqual(inGroup("@helper_bot look", { unsupported: "document" }), {
      _tag: "FixedAnswer",
      text: unsupportedReply("document")
    })
  })

  it("a channel's post is never answered, even when it mentions the bot", () => {
    assert.deepStrictEqual(inGroup("@helper_bot news", { fromChannel: true }), silent("a channel's post"))
    assert.deepStrictEqual(inGroup("news", { fromChannel: true }, "all"), silent("a channel's post"))
  })
})

describe("groups: all and off", () => {
  it("all: every message is answered, but other bots' bare commands are not", () => {
    assert.deepStrictEqual(inGroup("lunch at noon?", {}, "all"), { _tag: "AskModel" })
    assert.deepStrictEqual(inGroup("/weather", {}, "all"), silent("a command for another bot"))
  })

  it("off: nothing is answered in groups, not even a mention", () => {
    assert.deepStrictEqual(inGroup("@helper_bot hi", {}, "off"), silent("groups are off for this bot"))
    assert.deepStrictEqual(inGroup("/start", {}, "off"), silent("groups are off for this bot"))
  })

  it("private chats are not affected by the group mode", () => {
    assert.deepStrictEqual(planReply(botWith("off"), chatOfType("private"), content("hi"), SENDER), {
      _tag: "AskModel"
    })
  })
})

describe("groups: helpers", () => {
  it("mentions and commands", () => {
    assert.isTrue(mentions("ping @helper_bot.", "helper_bot"))
    assert.isFalse(mentions("ping helper_bot", "helper_bot"))
    assert.isTrue(isCommandForBot("/refresh", "helper_bot"))
    assert.isFalse(isCommandForBot("/refresh@other_bot", "helper_bot"))
    assert.isFalse(isCommandForBot("hello /start", "helper_bot"))
  })

  it("in groups the model reads who spoke; in private chats just the words", () => {
    assert.strictEqual(speakerText("group", "Ada Lovelace", "hi"), "Ada Lovelace: hi")
    assert.strictEqual(speakerText("supergroup", null, "hi"), "hi")
    assert.strictEqual(speakerText("private", "Ada", "hi"), "hi")
  })
})
