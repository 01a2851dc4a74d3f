import { Schema } from "effect"
import type { Transition } from "./DomainEffect.ts"
import { BotId, ChatId, TelegramChatId, TelegramUserId } from "./ids.ts"

export class Chat extends Schema.Class<Chat>("Chat")({
  id: ChatId,
  botId: BotId,
  telegramChatId: TelegramChatId,
  type: Schema.String,
  title: Schema.NullOr(Schema.String),
  tgUserId: Schema.NullOr(TelegramUserId),
  /** The current conversation thread; the LLM sees only its messages. */
  thread: Schema.Int,
  lastError: Schema.NullOr(Schema.String),
  lastMessageAt: Schema.NullOr(Schema.Date),
  createdAt: Schema.Date
}) {}

/** `/refresh`: later LLM calls see none of the earlier messages. */
export const startNewThread = (chat: Chat): Transition<Chat> => ({
  state: new Chat({ ...chat, thread: chat.thread + 1 }),
  effects: []
})
