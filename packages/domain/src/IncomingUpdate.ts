/**
 * A Telegram update as the pipeline reads it, decoded once where it enters
 * (the Telegram adapter, for the webhook and the poller alike). Admission,
 * the inbox and the pipeline all work on this value; the wire schema stays
 * in the adapter. A new kind of update is one more case here, one more branch
 * in the adapter's decoder and one in `HandleUpdate`.
 */
import type { BotId } from "./ids.ts"
import type { IncomingPhoto, IncomingRecording } from "./media.ts"
import type { IncomingContent } from "./planReply.ts"

/** Telegram: user and chat ids have "at most 52 significant bits". */
export const MAX_TELEGRAM_ID = 2 ** 52
/** Message ids are positive 32-bit integers. */
export const MAX_MESSAGE_ID = 2 ** 31 - 1

/**
 * A user id Telegram can send: positive, and stored as our users' key. Zero
 * is no user (the usage ledger keeps the whole bot's counters as user 0,
 * `BOT_USAGE_ROW`), so admission refuses it rather than the database later.
 */
export const isTelegramUserId = (id: number): boolean =>
  Number.isSafeInteger(id) && id >= 1 && id <= MAX_TELEGRAM_ID

/** A chat id: negative for groups and channels, never zero. */
export const isTelegramChatId = (id: number): boolean =>
  Number.isSafeInteger(id) && id !== 0 && Math.abs(id) <= MAX_TELEGRAM_ID

/** The chat an update came from, as Telegram names it. */
export interface ChatRef {
  readonly id: number
  /** "private", "group", "supergroup" or "channel". */
  readonly type: string
  readonly title: string | null
}

/** Who sent an update, as Telegram describes them. */
export interface Sender {
  readonly id: number
  readonly isBot: boolean
  readonly firstName: string
  readonly lastName: string | null
  readonly username: string | null
  readonly languageCode: string | null
}

/** A message written in a chat: text, a recording, a photo, or content we cannot read. */
export interface IncomingMessage extends IncomingContent {
  readonly kind: "message"
  readonly updateId: number
  readonly chat: ChatRef
  readonly from: Sender | null
  readonly messageId: number
  /** The text, or a photo's caption. */
  readonly text: string
  /** e.g. "photo" when the message is media without text we can read. */
  readonly unsupported: string | null
  /** The author of the message this one replies to. */
  readonly replyToUserId: number | null
  /** Posted by a channel (in a group: a linked channel's post or a channel speaking). */
  readonly fromChannel: boolean
  /** Sent as a chat (a channel, an anonymous admin): `from` is then a placeholder account. */
  readonly sentAsChat: boolean
  /** Who wrote it, as people call them: a name, or the title of the chat it was sent as. */
  readonly senderName: string | null
  /** A voice message, audio file or video note; its caption (if any) is the text until transcribed. */
  readonly recording: IncomingRecording | null
  /** A photo (its caption is the text). */
  readonly photo: IncomingPhoto | null
  /**
   * The forum topic it was written in (Telegram's `message_thread_id` on a
   * topic message, in a supergroup or a private chat with topics); null
   * elsewhere. The answer goes back to it, and each topic is its own history.
   */
  readonly topicId: number | null
}

/** A press of one of the bot's buttons: always answered; its data may name a command. */
export interface ButtonPress {
  readonly kind: "button"
  readonly updateId: number
  readonly callbackQueryId: string
  readonly data: string | null
  /** The chat of the message that carried the button; null for inline messages. */
  readonly chat: ChatRef | null
  /** The forum topic of the message that carried the button: a command pressed there answers there. */
  readonly topicId: number | null
  readonly from: Sender
}

/** The bot was added, blocked, kicked or re-added in a chat. */
export interface MembershipChange {
  readonly kind: "membership"
  readonly updateId: number
  readonly chat: ChatRef
  readonly status: string
}

/** An update kind we do not handle: stored, acknowledged, nothing done. */
export interface IgnoredUpdate {
  readonly kind: "ignored"
  readonly updateId: number
  readonly reason: string
}

/** Not what Telegram sends (e.g. a fractional chat id): it can never be processed. */
export interface UnreadableUpdate {
  readonly kind: "invalid"
  readonly updateId: number
  readonly reason: string
}

export type IncomingUpdate =
  | IncomingMessage
  | ButtonPress
  | MembershipChange
  | IgnoredUpdate
  | UnreadableUpdate

/** The key that orders a chat's updates: one at a time, in arrival order. */
export const chatKey = (botId: BotId, telegramChatId: number): string => `${botId}:${telegramChatId}`

/**
 * The chat key of an update. A button on an inline message has no chat: its
 * presses line up per user; updates without a chat at all share one key.
 */
export const chatKeyOfUpdate = (botId: BotId, update: IncomingUpdate): string => {
  switch (update.kind) {
    case "message":
    case "membership":
      return chatKey(botId, update.chat.id)
    case "button":
      return update.chat !== null ? chatKey(botId, update.chat.id) : `${botId}:user:${update.from.id}`
    case "ignored":
    case "invalid":
      return `${botId}:other`
  }
}

/**
 * What a press of a command button says to the planner: the command as if
 * typed, meant for the bot that showed the button (in groups too).
 */
export const pressedCommand = (
  command: string,
  bot: { readonly telegramBotId: number }
): IncomingContent => ({
  text: `/${command}`,
  unsupported: null,
  replyToUserId: bot.telegramBotId,
  fromChannel: false
})
