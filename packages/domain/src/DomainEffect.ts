/**
 * What the domain asks the outside world to do, as data. A use case stores
 * these with the state change (the outbox); the effect runner carries them out.
 */
import { Schema } from "effect"
import { BotId, ChatId, MessageId } from "./ids.ts"

export const TelegramSetWebhook = Schema.TaggedStruct("TelegramSetWebhook", {
  botId: BotId,
  url: Schema.String
})

export const TelegramRemoveWebhook = Schema.TaggedStruct("TelegramRemoveWebhook", {
  botId: BotId
})

export const NotifyAdmins = Schema.TaggedStruct("NotifyAdmins", {
  botId: BotId,
  chatId: Schema.NullOr(ChatId),
  message: Schema.String
})

/** Deliver a stored message (an admin's) through the same send step as replies. */
export const TelegramSendMessage = Schema.TaggedStruct("TelegramSendMessage", {
  botId: BotId,
  messageId: MessageId
})

/** conversations: Telegram's command menu for the bot (setMyCommands with COMMAND_MENU). */
export const TelegramSetCommands = Schema.TaggedStruct("TelegramSetCommands", {
  botId: BotId
})

// Alerts: one alert to one channel (the webhook URL is read at delivery, never stored here).
export const DeliverAlert = Schema.TaggedStruct("DeliverAlert", {
  botId: Schema.NullOr(BotId),
  kind: Schema.String,
  severity: Schema.Literals(["info", "warning", "critical"]),
  text: Schema.String,
  at: Schema.String,
  channel: Schema.Literals(["webhook", "telegram"]),
  /** channel telegram: who writes, and to which chat. */
  senderBotId: Schema.NullOr(BotId),
  telegramChatId: Schema.NullOr(Schema.Number)
})
export type DeliverAlert = typeof DeliverAlert.Type

export const DomainEffect = Schema.Union([
  TelegramSetWebhook,
  TelegramRemoveWebhook,
  NotifyAdmins,
  TelegramSendMessage,
  // conversations
  TelegramSetCommands,
  // Alerts
  DeliverAlert
])
export type DomainEffect = typeof DomainEffect.Type

/** A transition's result: the new state and what must happen because of it. */
export interface Transition<S> {
  readonly state: S
  readonly effects: ReadonlyArray<DomainEffect>
}
