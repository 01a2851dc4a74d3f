/**
 * The part of a Telegram update the pipeline acts on, read leniently: unknown
 * fields are ignored and unknown update kinds become `ignored`, so a new Bot
 * API feature never breaks ingestion.
 */
import {
  type BotId,
  chatKey as chatKeyOf,
  type IncomingPhoto,
  type IncomingRecording,
  PHOTO_MAX_BYTES,
  type RecordingKind
} from "@botfleet/domain"
import { Option, Schema } from "effect"

const User = Schema.Struct({
  id: Schema.Number,
  is_bot: Schema.optional(Schema.Boolean),
  first_name: Schema.optional(Schema.String),
  last_name: Schema.optional(Schema.String),
  username: Schema.optional(Schema.String),
  language_code: Schema.optional(Schema.String)
})
export type TelegramUser = typeof User.Type

const Chat = Schema.Struct({
  id: Schema.Number,
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
  message_id: Schema.Number,
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
  message: Schema.optional(Schema.Struct({ message_id: Schema.Number, chat: Chat }))
})

const ChatMemberUpdated = Schema.Struct({
  chat: Chat,
  from: User,
  new_chat_member: Schema.Struct({ status: Schema.String })
})

const Update = Schema.Struct({
  update_id: Schema.Number,
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

const decodeUpdate = Schema.decodeUnknownOption(Update)

/** The update id, if the payload has one (the webhook rejects payloads without). */
export const updateIdOf = (payload: unknown): number | undefined => {
  const id = (payload as { update_id?: unknown } | null)?.update_id
  return typeof id === "number" && Number.isSafeInteger(id) ? id : undefined
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
  if (Option.isNone(decoded))
    return { kind: "ignored", updateId: updateIdOf(payload) ?? -1, reason: "unreadable" }
  const update = decoded.value
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
      return `${botId}:other`
  }
}
