import { Effect, Schema } from "effect"
import type { Transition } from "./DomainEffect.ts"
import { BotId, ChatId, TelegramChatId, TelegramUserId } from "./ids.ts"
import { topicKey } from "./Persona.ts"

/**
 * What one conversation of a chat holds of its own: the persona chosen with
 * /mode and, for a forum topic, its thread (absent: the chat's).
 */
export const TopicState = Schema.Struct({
  persona: Schema.optional(Schema.NullOr(Schema.String)),
  thread: Schema.optional(Schema.Int)
})
export type TopicState = typeof TopicState.Type

export class Chat extends Schema.Class<Chat>("Chat")({
  id: ChatId,
  botId: BotId,
  telegramChatId: TelegramChatId,
  type: Schema.String,
  title: Schema.NullOr(Schema.String),
  tgUserId: Schema.NullOr(TelegramUserId),
  /** The current conversation thread; the LLM sees only its messages. */
  thread: Schema.Int,
  /** Per conversation, keyed by forum topic ("0": outside topics): see TopicState. */
  topics: Schema.Record(Schema.String, TopicState).pipe(Schema.withConstructorDefault(Effect.succeed({}))),
  lastError: Schema.NullOr(Schema.String),
  lastMessageAt: Schema.NullOr(Schema.Date),
  createdAt: Schema.Date
}) {}

/** The thread a conversation is in: a forum topic's own, else the chat's. */
export const threadOf = (chat: Chat, topicId: number | null): number =>
  topicId === null ? chat.thread : (chat.topics[topicKey(topicId)]?.thread ?? chat.thread)

const withTopic = (chat: Chat, topicId: number | null, state: TopicState): Chat => {
  const key = topicKey(topicId)
  return new Chat({ ...chat, topics: { ...chat.topics, [key]: { ...chat.topics[key], ...state } } })
}

/**
 * A topic seen for the first time keeps the chat's current thread as its own,
 * so a /new outside topics later leaves it alone. Null when nothing changes.
 */
export const pinTopic = (chat: Chat, topicId: number | null): Chat | null =>
  topicId === null || chat.topics[topicKey(topicId)]?.thread !== undefined
    ? null
    : withTopic(chat, topicId, { thread: chat.thread })

/**
 * `/new` (or `/refresh`): later LLM calls of this conversation see none of its
 * earlier messages. In a forum topic only that topic moves on; outside topics
 * the chat's thread does.
 */
export const startNewThread = (chat: Chat, topicId: number | null = null): Transition<Chat> => ({
  state:
    topicId === null
      ? new Chat({ ...chat, thread: chat.thread + 1 })
      : withTopic(chat, topicId, { thread: threadOf(chat, topicId) + 1 }),
  effects: []
})

/** `/mode`: the persona this conversation answers with from now on. */
export const choosePersona = (chat: Chat, topicId: number | null, key: string): Chat =>
  withTopic(chat, topicId, { persona: key })
