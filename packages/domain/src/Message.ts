import { Schema } from "effect"
import { BotId, ChatId, MessageId, TelegramUserId } from "./ids.ts"

/** user: from Telegram; assistant: generated; admin: typed by an admin as the bot. */
export const MessageRole = Schema.Literals(["user", "assistant", "admin"])
export type MessageRole = typeof MessageRole.Type

/**
 * received: an incoming message, stored. pending: a reply stored, not yet
 * (fully) sent. sent: delivered. failed: gave up; visible to admins, retryable.
 */
export const MessageStatus = Schema.Literals(["received", "pending", "sent", "failed"])
export type MessageStatus = typeof MessageStatus.Type

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
  createdAt: Schema.Date,
  sentAt: Schema.NullOr(Schema.Date)
}) {}

/** What the model reads of a message (admins speak as the bot). */
export const llmRole = (role: MessageRole): "user" | "assistant" => (role === "user" ? "user" : "assistant")
