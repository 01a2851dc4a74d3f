/**
 * Storage ports. Implementations fail only with the domain errors named here;
 * database errors are defects at the adapter edge. Writes join the caller's
 * transaction when run inside `Transactions.withTransaction`.
 */
import type {
  Bot,
  BotId,
  BotNameTaken,
  BotNotFound,
  BotTokenInUse,
  Chat,
  ChatId,
  ChatNotFound,
  DomainEffect,
  Message,
  MessageId,
  MessageNotFound,
  TgUser
} from "@botfleet/domain"
import { Context, type Effect, type Option, Schema } from "effect"

export interface Page<A> {
  readonly items: ReadonlyArray<A>
  /** Opaque; pass back as `cursor` for the next page. null: no more. */
  readonly nextCursor: string | null
}

export interface PageRequest {
  readonly limit: number
  readonly cursor?: string | undefined
}

export class Transactions extends Context.Service<
  Transactions,
  {
    readonly withTransaction: <A, E, R>(effect: Effect.Effect<A, E, R>) => Effect.Effect<A, E, R>
  }
>()("@botfleet/application/Transactions") {}

export class BotRepository extends Context.Service<
  BotRepository,
  {
    readonly insert: (bot: Bot) => Effect.Effect<void, BotNameTaken | BotTokenInUse>
    /** Replaces every field of the stored bot with the same id. */
    readonly update: (bot: Bot) => Effect.Effect<void, BotNotFound | BotNameTaken | BotTokenInUse>
    readonly findById: (id: BotId) => Effect.Effect<Bot, BotNotFound>
    /** Ordered by name (case-insensitive). */
    readonly list: Effect.Effect<ReadonlyArray<Bot>>
    readonly listActive: Effect.Effect<ReadonlyArray<Bot>>
    /**
     * The active bots' ids and stored token ciphertexts, in no order: what the
     * poller checks every few seconds, without reading whole bots (10,000 of
     * them every 5 s was most of the poller's CPU at rest).
     */
    readonly listActiveTokens: Effect.Effect<
      ReadonlyArray<{ readonly id: BotId; readonly tokenCiphertext: string }>
    >
    /**
     * A number that every committed change to any bot moves (its polling offset alone
     * does not): the poller lists the active bots again only when it moved. Another
     * value than last time means "maybe changed", never the reverse.
     */
    readonly changeVersion: Effect.Effect<number>
    /** Deletes the bot and, by cascade, its chats, messages and pending updates. */
    readonly delete: (id: BotId) => Effect.Effect<void, BotNotFound>
    readonly setPollingOffset: (id: BotId, offset: number) => Effect.Effect<void>
  }
>()("@botfleet/application/BotRepository") {}

export interface NewChat {
  readonly botId: BotId
  readonly telegramChatId: number
  readonly type: string
  readonly title: string | null
  readonly tgUserId: number | null
  /** When given, recorded as the chat's last message time (never moved back), in the same statement. */
  readonly lastMessageAt?: Date | undefined
}

export class ChatRepository extends Context.Service<
  ChatRepository,
  {
    /** Inserts the user or refreshes names, username, language and last_seen_at. */
    readonly upsertUser: (user: TgUser) => Effect.Effect<void>
    readonly findUser: (telegramId: number) => Effect.Effect<Option.Option<TgUser>>
    /** Returns the chat of (botId, telegramChatId), creating it (thread 1) if absent. Safe to repeat. */
    readonly findOrCreate: (chat: NewChat) => Effect.Effect<Chat>
    readonly findById: (id: ChatId) => Effect.Effect<Chat, ChatNotFound>
    /** Writes thread, title, last_error and last_message_at. */
    readonly update: (chat: Chat) => Effect.Effect<void, ChatNotFound>
    /** Most recently active first. */
    readonly list: (
      filter: { readonly botId?: BotId | undefined; readonly tgUserId?: number | undefined },
      page: PageRequest
    ) => Effect.Effect<Page<Chat>>
  }
>()("@botfleet/application/ChatRepository") {}

export class MessageRepository extends Context.Service<
  MessageRepository,
  {
    /**
     * Stores a message. For an incoming one (update_id set) and for an
     * assistant reply (reply_to set) a second insert of the same update or
     * reply is a no-op that returns the stored message.
     */
    readonly insert: (message: Message) => Effect.Effect<Message>
    readonly update: (message: Message) => Effect.Effect<void, MessageNotFound>
    readonly findById: (id: MessageId) => Effect.Effect<Message, MessageNotFound>
    readonly findByUpdate: (botId: BotId, updateId: number) => Effect.Effect<Option.Option<Message>>
    /** The assistant reply to a user message, if one was stored. */
    readonly findReply: (userMessageId: MessageId) => Effect.Effect<Option.Option<Message>>
    /** The last `limit` messages of a chat's thread, oldest first, failed and replaced ones left out. */
    readonly history: (
      chatId: ChatId,
      thread: number,
      /** The forum topic; null is the chat outside topics. */
      topicId: number | null,
      limit: number
    ) => Effect.Effect<ReadonlyArray<Message>>
    /** Newest first. */
    readonly listByChat: (chatId: ChatId, page: PageRequest) => Effect.Effect<Page<Message>>
    /** Removes a message (a failed reply, so the pipeline can answer again). */
    readonly delete: (id: MessageId) => Effect.Effect<void>
    /** Replies and admin messages that gave up, newest first. */
    readonly listFailed: (
      filter: { readonly botId?: BotId | undefined },
      page: PageRequest
    ) => Effect.Effect<Page<Message>>
  }
>()("@botfleet/application/MessageRepository") {}

export interface StoredEffect {
  readonly id: number
  readonly effect: DomainEffect
  readonly attempts: number
}

export class EffectOutbox extends Context.Service<
  EffectOutbox,
  {
    /** Stores effects; call inside the transaction that stores the state change. */
    readonly enqueue: (effects: ReadonlyArray<DomainEffect>) => Effect.Effect<void>
    /** Pending effects that are due, oldest first, each claimed for `leaseSeconds`. */
    readonly claimDue: (limit: number, leaseSeconds: number) => Effect.Effect<ReadonlyArray<StoredEffect>>
    readonly markDone: (id: number) => Effect.Effect<void>
    /** retryAt null: give up (status failed). */
    readonly markFailed: (id: number, error: string, retryAt: Date | null) => Effect.Effect<void>
  }
>()("@botfleet/application/EffectOutbox") {}

/**
 * A defect, not a failure: the database refused the data itself (PostgreSQL
 * SQLSTATE class 22, a data exception, or 23, an integrity constraint). The
 * same data will be refused again, so whoever meets it gives up at once
 * instead of retrying. Adapters raise it in place of the driver's error.
 */
export class DataRefused extends Schema.TaggedError<DataRefused>()("DataRefused", {
  sqlState: Schema.String,
  /** The constraint that said no, when the server names one. */
  constraint: Schema.NullOr(Schema.String),
  /** The server's message (it names the column or type, never the value). */
  detail: Schema.String
}) {}
