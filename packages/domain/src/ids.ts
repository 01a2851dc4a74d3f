import { Schema } from "effect"

/** Our own ids are UUIDs; Telegram's ids are integers. Brands keep them apart. */
export const BotId = Schema.String.check(Schema.isUUID()).pipe(Schema.brand("BotId"))
export type BotId = typeof BotId.Type

export const ChatId = Schema.String.check(Schema.isUUID()).pipe(Schema.brand("ChatId"))
export type ChatId = typeof ChatId.Type

export const MessageId = Schema.String.check(Schema.isUUID()).pipe(Schema.brand("MessageId"))
export type MessageId = typeof MessageId.Type

export const TelegramChatId = Schema.Int.pipe(Schema.brand("TelegramChatId"))
export type TelegramChatId = typeof TelegramChatId.Type

export const TelegramUserId = Schema.Int.pipe(Schema.brand("TelegramUserId"))
export type TelegramUserId = typeof TelegramUserId.Type

export const UpdateId = Schema.Int.pipe(Schema.brand("UpdateId"))
export type UpdateId = typeof UpdateId.Type

/** providers */
export const ProviderId = Schema.String.check(Schema.isUUID()).pipe(Schema.brand("ProviderId"))
export type ProviderId = typeof ProviderId.Type
