/**
 * What the bot does with an incoming message, decided without I/O. This is
 * the place for every rule about whether and how to answer: commands, content
 * we cannot read, and later group mentions, access lists and limits.
 */
import { checkAccess } from "./Access.ts"
import type { Bot } from "./Bot.ts"
import type { Chat } from "./Chat.ts"
import { parseCommand } from "./commands.ts"

export const REFRESH_REPLY = "Started a new conversation. I've forgotten what we talked about before."
export const UNKNOWN_COMMAND_REPLY = "I don't know that command."
export const unsupportedReply = (kind: string) =>
  `I can only read text for now, so I can't open this ${kind}. Please send your question as text.`

/** The part of an incoming message the plan reads. */
export interface IncomingContent {
  /** The text, or a photo's caption; empty when there is none. */
  readonly text: string
  /** e.g. "photo" when the message is content without text we can read. */
  readonly unsupported: string | null
}

export type ReplyPlan =
  /** Answer with this text; no model call. */
  | { readonly _tag: "FixedAnswer"; readonly text: string }
  /** Start a new conversation thread, then answer with this text. */
  | { readonly _tag: "NewThread"; readonly text: string }
  /** Ask the model with the chat's current thread. */
  | { readonly _tag: "AskModel" }
  /** Store the message, answer nothing. */
  | { readonly _tag: "Ignore"; readonly reason: string }
  /** Not allowed to talk to this bot: `text` at most once a day, never the model. */
  | { readonly _tag: "Refuse"; readonly reason: "blocked" | "not_allowed"; readonly text: string }
  /** `/usage`: the sender's own use against the bot's limits. */
  | { readonly _tag: "ShowUsage" }

const fixed = (text: string): ReplyPlan => ({ _tag: "FixedAnswer", text })

/**
 * `senderId` is the Telegram user who wrote (null for a channel post). Access
 * comes first: a refused user gets no command either, not even /start.
 */
export const planReply = (
  bot: Bot,
  chat: Chat,
  incoming: IncomingContent,
  senderId: number | null
): ReplyPlan => {
  const access = checkAccess(bot, { userId: senderId, chatId: chat.telegramChatId })
  if (access._tag === "Denied") return { _tag: "Refuse", reason: access.reason, text: bot.deniedMessage }
  if (incoming.unsupported !== null) return fixed(unsupportedReply(incoming.unsupported))
  switch (parseCommand(incoming.text, bot.username)) {
    case "start":
      return fixed(bot.startMessage)
    case "help":
      return fixed(bot.helpMessage)
    case "unknown":
      return fixed(`${UNKNOWN_COMMAND_REPLY} ${bot.helpMessage}`)
    case "refresh":
      return { _tag: "NewThread", text: REFRESH_REPLY }
    case "usage":
      return { _tag: "ShowUsage" }
    case undefined:
      return { _tag: "AskModel" }
  }
}
