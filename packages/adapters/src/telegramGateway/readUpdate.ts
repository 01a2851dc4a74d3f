/**
 * Incoming Telegram updates, decoded once where they enter (the webhook and
 * the poller both call `TelegramGateway.readUpdate`, which is this). The wire
 * schema lives here, beside the outgoing side (`botApiHttp.ts`); everything
 * after works on the domain's `IncomingUpdate`.
 *
 * Unknown fields are ignored and unknown update kinds become `ignored`, so a
 * new Bot API feature never breaks ingestion; the fields we do read must be
 * what Telegram sends (ids are integers in Telegram's ranges, a user id is
 * never 0), or the update is `invalid`: it can never be processed, and no
 * retry will change that.
 */
import { admitUpdate, issueMessage, type ReceivedUpdate } from "@botfleet/application"
import {
  type ChatRef,
  type IncomingPhoto,
  type IncomingRecording,
  type IncomingUpdate,
  isTelegramUserId,
  MAX_MESSAGE_ID,
  MAX_TELEGRAM_ID,
  PHOTO_MAX_BYTES,
  type RecordingKind,
  type Sender
} from "@botfleet/domain"
import { Result, Schema } from "effect"

/** Update kinds the bots handle: what webhooks and long polling subscribe to, and nothing else. */
export const ALLOWED_UPDATES = ["message", "callback_query", "my_chat_member"] as const

const TelegramId = Schema.Int.check(Schema.isBetween({ minimum: -MAX_TELEGRAM_ID, maximum: MAX_TELEGRAM_ID }))
/** Users are keyed by their id in our tables: 0 (or below) is no Telegram user. */
const UserId = TelegramId.check(
  Schema.makeFilter((id: number) => isTelegramUserId(id), {
    message: "expected a Telegram user id (a whole number from 1)"
  })
)
const MessageIdNumber = Schema.Int.check(Schema.isBetween({ minimum: 1, maximum: MAX_MESSAGE_ID }))
/** Update ids only need to be whole and fit our bigint column exactly. */
const UpdateIdNumber = Schema.Int.check(Schema.isGreaterThanOrEqualTo(0))

const User = Schema.Struct({
  id: UserId,
  is_bot: Schema.optional(Schema.Boolean),
  first_name: Schema.optional(Schema.String),
  last_name: Schema.optional(Schema.String),
  username: Schema.optional(Schema.String),
  language_code: Schema.optional(Schema.String)
})

const Chat = Schema.Struct({
  id: TelegramId,
  type: Schema.String,
  title: Schema.optional(Schema.String)
})

/** Recordings the bot listens to. */
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
  // Whom a group message is for, and who spoke.
  sender_chat: Schema.optional(Chat),
  voice: Schema.optional(Recording),
  audio: Schema.optional(Recording),
  video_note: Schema.optional(Recording),
  photo: Schema.optional(
    Schema.Array(Schema.Struct({ file_id: Schema.String, file_size: Schema.optional(Schema.Number) }))
  ),
  reply_to_message: Schema.optional(Schema.Struct({ from: Schema.optional(User) })),
  // Forum topics (see topicOf).
  message_thread_id: Schema.optional(MessageIdNumber),
  is_topic_message: Schema.optional(Schema.Boolean)
})

const CallbackQuery = Schema.Struct({
  id: Schema.String,
  from: User,
  data: Schema.optional(Schema.String),
  message: Schema.optional(
    Schema.Struct({
      message_id: MessageIdNumber,
      chat: Chat,
      message_thread_id: Schema.optional(MessageIdNumber),
      is_topic_message: Schema.optional(Schema.Boolean)
    })
  )
})

const ChatMemberUpdated = Schema.Struct({
  chat: Chat,
  from: User,
  new_chat_member: Schema.Struct({ status: Schema.String })
})

/** The part of a Telegram update the pipeline acts on. */
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

type WireMessage = typeof TelegramMessage.Type

const chatOf = (chat: typeof Chat.Type): ChatRef => ({
  id: chat.id,
  type: chat.type,
  title: chat.title ?? null
})

const senderOf = (user: typeof User.Type): Sender => ({
  id: user.id,
  isBot: user.is_bot ?? false,
  firstName: user.first_name ?? "",
  lastName: user.last_name ?? null,
  username: user.username ?? null,
  languageCode: user.language_code ?? null
})

const recordingOf = (message: WireMessage): IncomingRecording | null => {
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
const photoOf = (message: WireMessage): IncomingPhoto | null => {
  const sizes = message.photo ?? []
  if (sizes.length === 0) return null
  const fitting = sizes.filter((size) => (size.file_size ?? 0) <= PHOTO_MAX_BYTES)
  const chosen = fitting.at(-1) ?? sizes[0]!
  return { fileId: chosen.file_id, fileSize: chosen.file_size ?? null }
}

const senderNameOf = (message: WireMessage): string | null => {
  // Anonymous admins and channels write as a chat; `from` is then a placeholder account.
  if (message.sender_chat !== undefined) return message.sender_chat.title ?? null
  if (message.from === undefined) return null
  const name = [message.from.first_name, message.from.last_name]
    .filter((part) => part !== undefined)
    .join(" ")
  return name !== "" ? name : (message.from.username ?? null)
}

/**
 * The forum topic a message is in. Outside topics `message_thread_id` names the
 * message replied to, so it counts only when Telegram says it is a topic message.
 */
const topicOf = (message: {
  readonly message_thread_id?: number | undefined
  readonly is_topic_message?: boolean | undefined
}): number | null => (message.is_topic_message === true ? (message.message_thread_id ?? null) : null)

const decode = Schema.decodeUnknownResult(TelegramUpdate)

/** The domain value of a storable payload (one schema pass); `TelegramGateway.readStored`. */
export const decodeUpdate = (payload: unknown, updateId: number): IncomingUpdate => {
  const decoded = decode(payload)
  if (Result.isFailure(decoded))
    return { kind: "invalid", updateId, reason: issueMessage(decoded.failure.issue, "") }
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
      chat: chatOf(message.chat),
      from: message.from ? senderOf(message.from) : null,
      messageId: message.message_id,
      text,
      // A photo without caption is still "unsupported" for bots without vision: the planner decides.
      unsupported: text === "" && recording === null && photo === null ? (media ?? "message") : null,
      recording,
      photo,
      replyToUserId: message.reply_to_message?.from?.id ?? null,
      fromChannel: message.sender_chat?.type === "channel",
      sentAsChat: message.sender_chat !== undefined,
      senderName: senderNameOf(message),
      topicId: topicOf(message)
    }
  }
  if (update.callback_query) {
    const query = update.callback_query
    return {
      kind: "button",
      updateId: update.update_id,
      callbackQueryId: query.id,
      data: query.data ?? null,
      chat: query.message ? chatOf(query.message.chat) : null,
      topicId: query.message ? topicOf(query.message) : null,
      from: senderOf(query.from)
    }
  }
  if (update.my_chat_member) {
    return {
      kind: "membership",
      updateId: update.update_id,
      chat: chatOf(update.my_chat_member.chat),
      status: update.my_chat_member.new_chat_member.status
    }
  }
  return { kind: "ignored", updateId: update.update_id, reason: "update kind not handled" }
}

/**
 * An update as it arrives: made storable (`admitUpdate`), then decoded once.
 * `problem` is why it can never be processed (the webhook answers 400 with
 * it; the poller stores it and the pipeline parks it).
 */
export const readUpdate = (body: unknown): ReceivedUpdate => {
  const admitted = admitUpdate(body)
  if (admitted.updateId === undefined || admitted.problem !== null) {
    const reason = admitted.problem ?? "the update has no update_id (a whole number from 0)"
    return {
      ...admitted,
      problem: reason,
      update: { kind: "invalid", updateId: admitted.updateId ?? -1, reason }
    }
  }
  const update = decodeUpdate(admitted.payload, admitted.updateId)
  return { ...admitted, problem: update.kind === "invalid" ? update.reason : null, update }
}
