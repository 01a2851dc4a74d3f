/**
 * The part of a Telegram update the pipeline acts on. Unknown fields are
 * ignored and unknown update kinds become `ignored`, so a new Bot API feature
 * never breaks ingestion; the fields we do read must be what Telegram sends
 * (ids are integers in Telegram's ranges), or the update is `invalid`: it can
 * never be processed, and no retry will change that.
 */
import {
  type BotId,
  chatKey as chatKeyOf,
  type IncomingPhoto,
  type IncomingRecording,
  PHOTO_MAX_BYTES,
  type RecordingKind
} from "@botfleet/domain"
import { Result, Schema } from "effect"
import { issueMessage } from "../validation/issueMessage.ts"

/** Telegram: user and chat ids have "at most 52 significant bits". */
export const MAX_TELEGRAM_ID = 2 ** 52
/** Message ids are positive 32-bit integers. */
export const MAX_MESSAGE_ID = 2 ** 31 - 1

const TelegramId = Schema.Int.check(Schema.isBetween({ minimum: -MAX_TELEGRAM_ID, maximum: MAX_TELEGRAM_ID }))
const MessageIdNumber = Schema.Int.check(Schema.isBetween({ minimum: 1, maximum: MAX_MESSAGE_ID }))
/** Update ids only need to be whole and fit our bigint column exactly. */
const UpdateIdNumber = Schema.Int.check(Schema.isGreaterThanOrEqualTo(0))

const User = Schema.Struct({
  id: TelegramId,
  is_bot: Schema.optional(Schema.Boolean),
  first_name: Schema.optional(Schema.String),
  last_name: Schema.optional(Schema.String),
  username: Schema.optional(Schema.String),
  language_code: Schema.optional(Schema.String)
})
export type TelegramUser = typeof User.Type

const Chat = Schema.Struct({
  id: TelegramId,
  type: Schema.String,
  title: Schema.optional(Schema.String)
})
export type TelegramChat = typeof Chat.Type

// conversations (issue 11): recordings the bot listens to.
const Recording = Schema.Struct({
  file_id: Schema.String,
  duration: Schema.optional(Schema.Number),
  file_size: Schema.optional(Schema.Number)
})

const TelegramMessage = Schema.Struct({
  message_id: MessageIdNumber,
  chat: Chat,
  from: Schema.optional(User),
  text: Schema.optional(Schema.String),
  caption: Schema.optional(Schema.String),
  // conversations (issue 11): whom a group message is for, and who spoke
  sender_chat: Schema.optional(Chat),
  voice: Schema.optional(Recording),
  audio: Schema.optional(Recording),
  video_note: Schema.optional(Recording),
  photo: Schema.optional(
    Schema.Array(Schema.Struct({ file_id: Schema.String, file_size: Schema.optional(Schema.Number) }))
  ),
  reply_to_message: Schema.optional(Schema.Struct({ from: Schema.optional(User) }))
})

const CallbackQuery = Schema.Struct({
  id: Schema.String,
  from: User,
  data: Schema.optional(Schema.String),
  message: Schema.optional(Schema.Struct({ message_id: MessageIdNumber, chat: Chat }))
})

const ChatMemberUpdated = Schema.Struct({
  chat: Chat,
  from: User,
  new_chat_member: Schema.Struct({ status: Schema.String })
})

export const TelegramUpdate = Schema.Struct({
  update_id: UpdateIdNumber,
  message: Schema.optional(TelegramMessage),
  callback_query: Schema.optional(CallbackQuery),
  my_chat_member: Schema.optional(ChatMemberUpdated)
})

/** Kinds of message content we recognise but do not read (yet). */
const MEDIA_KINDS = [
  "photo",
  "video",
  "voice",
  "audio",
  "document",
  "sticker",
  "animation",
  "video_note",
  "location",
  "contact",
  "poll"
] as const

export type IncomingEvent =
  | {
      readonly kind: "message"
      readonly updateId: number
      readonly chat: TelegramChat
      readonly from: TelegramUser | null
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
    }
  | {
      readonly kind: "callback"
      readonly updateId: number
      readonly callbackQueryId: string
      readonly data: string | null
      readonly chat: TelegramChat | null
      readonly from: TelegramUser
    }
  | {
      readonly kind: "membership"
      readonly updateId: number
      readonly chat: TelegramChat
      readonly status: string
    }
  | { readonly kind: "ignored"; readonly updateId: number; readonly reason: string }
  /** Not what Telegram sends (e.g. a fractional chat id): parked as failed, never retried. */
  | { readonly kind: "invalid"; readonly updateId: number; readonly reason: string }

const decodeUpdate = Schema.decodeUnknownResult(TelegramUpdate)

/** Why a payload is not a readable update (`message.chat.id: expected an integer`), or null. */
export const updateProblem = (payload: unknown): string | null => {
  const decoded = decodeUpdate(payload)
  return Result.isSuccess(decoded) ? null : issueMessage(decoded.failure.issue, "")
}

/** The update id, if the payload has one (the webhook rejects payloads without). */
export const updateIdOf = (payload: unknown): number | undefined => {
  const id = (payload as { update_id?: unknown } | null)?.update_id
  return typeof id === "number" && Number.isSafeInteger(id) && id >= 0 ? id : undefined
}

const recordingOf = (message: typeof TelegramMessage.Type): IncomingRecording | null => {
  const kinds: ReadonlyArray<RecordingKind> = ["voice", "audio", "video_note"]
  for (const kind of kinds) {
    const file = message[kind]
    if (file !== undefined) {
      return {
        kind,
        fileId: file.file_id,
        durationSeconds: file.duration ?? 0,
        fileSize: file.file_size ?? null,
        transcribed: false
      }
    }
  }
  return null
}

/** Telegram lists a photo's sizes smallest first: the largest that fits, else the smallest. */
const photoOf = (message: typeof TelegramMessage.Type): IncomingPhoto | null => {
  const sizes = message.photo ?? []
  if (sizes.length === 0) return null
  const fitting = sizes.filter((size) => (size.file_size ?? 0) <= PHOTO_MAX_BYTES)
  const chosen = fitting.at(-1) ?? sizes[0]!
  return { fileId: chosen.file_id, fileSize: chosen.file_size ?? null }
}

const senderNameOf = (message: typeof TelegramMessage.Type): string | null => {
  // Anonymous admins and channels write as a chat; `from` is then a placeholder account.
  if (message.sender_chat !== undefined) return message.sender_chat.title ?? null
  if (message.from === undefined) return null
  const name = [message.from.first_name, message.from.last_name]
    .filter((part) => part !== undefined)
    .join(" ")
  return name !== "" ? name : (message.from.username ?? null)
}

export const parseUpdate = (payload: unknown): IncomingEvent => {
  const decoded = decodeUpdate(payload)
  if (Result.isFailure(decoded))
    return {
      kind: "invalid",
      updateId: updateIdOf(payload) ?? -1,
      reason: issueMessage(decoded.failure.issue, "")
    }
  const update = decoded.success
  if (update.message) {
    const message = update.message
    const raw = (payload as { message: Record<string, unknown> }).message
    const media = MEDIA_KINDS.find((kind) => raw[kind] !== undefined)
    const text = message.text ?? message.caption ?? ""
    const recording = recordingOf(message)
    const photo = photoOf(message)
    return {
      kind: "message",
      updateId: update.update_id,
      chat: message.chat,
      from: message.from ?? null,
      messageId: message.message_id,
      text,
      // A photo without caption is still "unsupported" for bots without vision: the planner decides.
      unsupported: text === "" && recording === null && photo === null ? (media ?? "message") : null,
      recording,
      photo,
      replyToUserId: message.reply_to_message?.from?.id ?? null,
      fromChannel: message.sender_chat?.type === "channel",
      sentAsChat: message.sender_chat !== undefined,
      senderName: senderNameOf(message)
    }
  }
  if (update.callback_query) {
    const query = update.callback_query
    return {
      kind: "callback",
      updateId: update.update_id,
      callbackQueryId: query.id,
      data: query.data ?? null,
      chat: query.message?.chat ?? null,
      from: query.from
    }
  }
  if (update.my_chat_member) {
    return {
      kind: "membership",
      updateId: update.update_id,
      chat: update.my_chat_member.chat,
      status: update.my_chat_member.new_chat_member.status
    }
  }
  return { kind: "ignored", updateId: update.update_id, reason: "update kind not handled" }
}

/** Which chat an update belongs to, so a chat's updates run in order. */
export const chatKeyOfUpdate = (botId: BotId, payload: unknown): string => {
  const event = parseUpdate(payload)
  switch (event.kind) {
    case "message":
    case "membership":
      return chatKeyOf(botId, event.chat.id)
    case "callback":
      return event.chat ? chatKeyOf(botId, event.chat.id) : `${botId}:user:${event.from.id}`
    case "ignored":
    case "invalid":
      return `${botId}:other`
  }
}
