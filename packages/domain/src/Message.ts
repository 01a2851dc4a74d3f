import { Effect, Schema } from "effect"
import { BotId, ChatId, MessageId, TelegramUserId } from "./ids.ts"
import { MessageKind } from "./media.ts"
import { trusted } from "./trusted.ts"

/** user: from Telegram; assistant: generated; admin: typed by an admin as the bot. */
export const MessageRole = Schema.Literals(["user", "assistant", "admin"])
export type MessageRole = typeof MessageRole.Type

/**
 * received: an incoming message, stored. pending: a reply stored, not yet
 * (fully) sent. sent: delivered. failed: gave up; visible to admins, retryable.
 */
export const MessageStatus = Schema.Literals(["received", "pending", "sent", "failed"])
export type MessageStatus = typeof MessageStatus.Type

/**
 * Why a message failed. `model_<kind>` is the language model's error kind
 * (auth, quota, rate_limited, timeout, unavailable, bad_request); `other` is
 * anything else (Telegram refused the send, an admin's message, a restart).
 */
export const FailureKind = Schema.Literals([
  "model_auth",
  "model_quota",
  "model_rate_limited",
  "model_timeout",
  "model_unavailable",
  "model_bad_request",
  "other"
])
export type FailureKind = typeof FailureKind.Type

/** The failures that mean the bot's model provider is failing (one `llm_failing` alert per bot). */
export const PROVIDER_FAILING_KINDS: ReadonlyArray<FailureKind> = [
  "model_auth",
  "model_quota",
  "model_unavailable",
  "model_timeout"
]

export class Message extends Schema.Class<Message>("Message")({
  id: MessageId,
  chatId: ChatId,
  botId: BotId,
  role: MessageRole,
  text: Schema.String,
  thread: Schema.Int,
  tgUserId: Schema.NullOr(TelegramUserId),
  updateId: Schema.NullOr(Schema.Int),
  replyTo: Schema.NullOr(MessageId),
  telegramMessageIds: Schema.Array(Schema.Int),
  chunksSent: Schema.Int,
  model: Schema.NullOr(Schema.String),
  inputTokens: Schema.Int,
  outputTokens: Schema.Int,
  costUsd: Schema.Number,
  status: MessageStatus,
  error: Schema.NullOr(Schema.String),
  /** Why it failed, as data: alerts and reports group by this, never by parsing `error`. */
  failureKind: Schema.NullOr(FailureKind).pipe(Schema.withConstructorDefault(Effect.succeed(null))),
  createdAt: Schema.Date,
  sentAt: Schema.NullOr(Schema.Date),
  // conversations: who wrote an incoming message (a person's name, or a channel's title)
  senderName: Schema.NullOr(Schema.String).pipe(Schema.withConstructorDefault(Effect.succeed(null))),
  // conversations: what an incoming message carried, and a recording's length
  kind: MessageKind.pipe(Schema.withConstructorDefault(Effect.succeed("text" as const))),
  mediaSeconds: Schema.NullOr(Schema.Number).pipe(Schema.withConstructorDefault(Effect.succeed(null))),
  /**
   * The forum topic (Telegram's `message_thread_id`) it was written in or
   * answers; null outside topics. Each topic is its own history.
   */
  topicId: Schema.NullOr(Schema.Int).pipe(Schema.withConstructorDefault(Effect.succeed(null)))
}) {}

/** What the model reads of a message (admins speak as the bot). */
export const llmRole = (role: MessageRole): "user" | "assistant" => (role === "user" ? "user" : "assistant")

// --- constructors: the one place each kind of message is made ---

/** An incoming Telegram message, stored as received. */
export const incoming = (input: {
  readonly id: MessageId
  readonly chatId: ChatId
  readonly botId: BotId
  readonly thread: number
  readonly tgUserId: TelegramUserId | null
  readonly updateId: number
  /** Null for a button press: it is no message of its own in the chat. */
  readonly telegramMessageId: number | null
  readonly text: string
  readonly at: Date
  /** The speaker's name, shown to the model in groups. */
  readonly senderName?: string | null | undefined
  readonly kind?: MessageKind | undefined
  readonly mediaSeconds?: number | null | undefined
  /** The forum topic it was written in. */
  readonly topicId?: number | null | undefined
}): Message =>
  trusted(Message, {
    id: input.id,
    chatId: input.chatId,
    botId: input.botId,
    role: "user",
    text: input.text,
    thread: input.thread,
    tgUserId: input.tgUserId,
    updateId: input.updateId,
    replyTo: null,
    telegramMessageIds: input.telegramMessageId === null ? [] : [input.telegramMessageId],
    chunksSent: 0,
    model: null,
    inputTokens: 0,
    outputTokens: 0,
    costUsd: 0,
    status: "received",
    error: null,
    failureKind: null,
    createdAt: input.at,
    sentAt: null,
    senderName: input.senderName ?? null,
    kind: input.kind ?? "text",
    mediaSeconds: input.mediaSeconds ?? null,
    topicId: input.topicId ?? null
  })

/** What the model reported with its answer. */
export interface Usage {
  readonly model: string
  readonly inputTokens: number
  readonly outputTokens: number
  readonly costUsd: number
}

/**
 * The bot's answer to `question`, not sent yet. History is ordered by time: a
 * reply made in the same millisecond still comes after its question.
 */
export const reply = (
  question: Message,
  input: {
    readonly id: MessageId
    readonly text: string
    readonly at: Date
    readonly usage?: Usage
    /** Spoken: sent as a voice note (voiceReplies.ts). */
    readonly spoken?: boolean
  }
): Message =>
  trusted(Message, {
    id: input.id,
    chatId: question.chatId,
    botId: question.botId,
    role: "assistant",
    text: input.text,
    thread: question.thread,
    tgUserId: null,
    updateId: null,
    replyTo: question.id,
    telegramMessageIds: [],
    chunksSent: 0,
    model: input.usage?.model ?? null,
    inputTokens: input.usage?.inputTokens ?? 0,
    outputTokens: input.usage?.outputTokens ?? 0,
    costUsd: input.usage?.costUsd ?? 0,
    status: "pending",
    error: null,
    failureKind: null,
    createdAt: new Date(Math.max(input.at.getTime(), question.createdAt.getTime() + 1)),
    sentAt: null,
    senderName: null,
    kind: input.spoken === true ? "voice" : "text",
    mediaSeconds: null,
    // The answer belongs to the question's topic: it is sent there and read back with it.
    topicId: question.topicId
  })

/** An admin's message, written as the bot, waiting to be sent. */
export const admin = (input: {
  readonly id: MessageId
  readonly chatId: ChatId
  readonly botId: BotId
  readonly thread: number
  readonly text: string
  readonly at: Date
}): Message =>
  trusted(Message, {
    id: input.id,
    chatId: input.chatId,
    botId: input.botId,
    role: "admin",
    text: input.text,
    thread: input.thread,
    tgUserId: null,
    updateId: null,
    replyTo: null,
    telegramMessageIds: [],
    chunksSent: 0,
    model: null,
    inputTokens: 0,
    outputTokens: 0,
    costUsd: 0,
    status: "pending",
    error: null,
    failureKind: null,
    createdAt: input.at,
    sentAt: null,
    senderName: null,
    kind: "text",
    mediaSeconds: null,
    // Admins write to the chat, not to a topic: it shows in General.
    topicId: null
  })

// --- transitions ---

/**
 * The next chunk went out as Telegram message `telegramMessageId`. After the
 * last of `chunkCount` chunks a pending message is sent; a failed one (the
 * error message of a reply that gave up) keeps its status and error.
 */
export const chunkSent = (
  message: Message,
  telegramMessageId: number,
  chunkCount: number,
  at: Date
): Message => {
  const last = message.chunksSent + 1 >= chunkCount
  return trusted(Message, {
    ...message,
    chunksSent: message.chunksSent + 1,
    telegramMessageIds: [...message.telegramMessageIds, telegramMessageId],
    status: last && message.status === "pending" ? "sent" : message.status,
    sentAt: last ? at : message.sentAt
  })
}

/**
 * A spoken reply's voice note went out: one part sent (as `chunkSent`), and
 * the speech's cost added to the reply's, in the same write, so it is counted
 * once with the voice note it paid for.
 */
export const voiceSent = (
  message: Message,
  telegramMessageId: number,
  partCount: number,
  speechCostUsd: number,
  at: Date
): Message =>
  trusted(Message, {
    ...chunkSent(message, telegramMessageId, partCount, at),
    costUsd: message.costUsd + speechCostUsd
  })

/**
 * The speech could not be made, or Telegram refused the voice note: the reply
 * goes out as text instead, with the cost of speech that was made and not sent.
 */
export const spokenAsText = (message: Message, speechCostUsd = 0): Message =>
  trusted(Message, { ...message, kind: "text", costUsd: message.costUsd + speechCostUsd })

/**
 * A recording's transcript is in: it becomes the message's text, with the
 * transcription model and its cost. A message with a model is transcribed.
 */
export const transcribed = (
  message: Message,
  input: { readonly text: string } & Omit<Usage, "inputTokens" | "outputTokens">
): Message => trusted(Message, { ...message, text: input.text, model: input.model, costUsd: input.costUsd })

/** Gave up: visible to admins with the reason, retryable by hand. */
export const failed = (message: Message, reason: string, kind: FailureKind = "other"): Message =>
  trusted(Message, { ...message, status: "failed", error: reason, failureKind: kind })

/** An admin retries a failed message: it waits to be sent again. */
export const retried = (message: Message): Message =>
  trusted(Message, { ...message, status: "pending", error: null, failureKind: null })
