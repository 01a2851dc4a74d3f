/**
 * What admins do with chats: browse them and their messages, answer as the
 * bot, and retry replies that failed. An admin's message is stored with its
 * delivery (a `TelegramSendMessage` effect) in one transaction, and goes out
 * through the same idempotent send step as replies.
 */
import { randomUUID } from "node:crypto"
import {
  type BotId,
  type BotNotFound,
  type Chat,
  type ChatId,
  type ChatNotFound,
  type Message,
  MessageId,
  MessageModel,
  type MessageNotFound,
  type TgUser,
  type ThreadSummary
} from "@botfleet/domain"
import { Clock, Context, Effect, Layer, Option, Schema } from "effect"
import {
  BotRepository,
  ChatRepository,
  EffectOutbox,
  MessageRepository,
  type Page,
  type PageRequest,
  Transactions
} from "../ports/Repositories.ts"
import { ThreadSummaries } from "../ports/ThreadSummaries.ts"
import { type StoredToolCall, ToolCallRepository } from "../ports/ToolCalls.ts"
import { type FailedUpdate, UpdateInbox } from "../ports/UpdateInbox.ts"

export interface ChatWithUser {
  readonly chat: Chat
  readonly user: Option.Option<TgUser>
}

export class NotRetryable extends Schema.TaggedError<NotRetryable>()("NotRetryable", {
  reason: Schema.String
}) {
  override get message() {
    return this.reason
  }
}

export class ConversationService extends Context.Service<
  ConversationService,
  {
    readonly listChats: (
      filter: { readonly botId?: BotId | undefined; readonly tgUserId?: number | undefined },
      page: PageRequest
    ) => Effect.Effect<Page<ChatWithUser>>
    readonly getChat: (id: ChatId) => Effect.Effect<ChatWithUser, ChatNotFound>
    readonly listMessages: (id: ChatId, page: PageRequest) => Effect.Effect<Page<Message>, ChatNotFound>
    /** The running summaries of the chat's long threads, newest first (the latest 100). */
    readonly listSummaries: (id: ChatId) => Effect.Effect<ReadonlyArray<ThreadSummary>, ChatNotFound>
    /** The tool calls each of these replies made, by reply id (replies that made none are absent). */
    readonly toolCallsOf: (
      replies: ReadonlyArray<Message>
    ) => Effect.Effect<ReadonlyMap<MessageId, ReadonlyArray<StoredToolCall>>>
    /** Stores the admin's message (role admin, part of the LLM history from now on) and queues its delivery. */
    readonly send: (id: ChatId, text: string) => Effect.Effect<Message, ChatNotFound | BotNotFound>
    readonly listFailures: (
      filter: { readonly botId?: BotId | undefined },
      page: PageRequest
    ) => Effect.Effect<Page<Message>>
    /** Updates given up on (retries exhausted, bot stopped, or not what Telegram sends), newest first. */
    readonly listFailedUpdates: (
      filter: { readonly botId?: BotId | undefined },
      page: PageRequest
    ) => Effect.Effect<Page<FailedUpdate>>
    /**
     * A failed reply is dropped and its user message answered again; a failed
     * admin message is sent again. Returns the message that will go out again
     * (for a reply: the user message being answered).
     */
    readonly retry: (id: MessageId) => Effect.Effect<Message, MessageNotFound | NotRetryable>
  }
>()("@botfleet/application/ConversationService") {
  static readonly layer = Layer.effect(
    ConversationService,
    Effect.gen(function* () {
      const bots = yield* BotRepository
      const chats = yield* ChatRepository
      const messages = yield* MessageRepository
      const outbox = yield* EffectOutbox
      const inbox = yield* UpdateInbox
      const transactions = yield* Transactions
      const summaries = yield* ThreadSummaries
      const toolCalls = yield* ToolCallRepository

      const withUser = (chat: Chat) =>
        Effect.map(
          chat.tgUserId === null ? Effect.succeed(Option.none<TgUser>()) : chats.findUser(chat.tgUserId),
          (user): ChatWithUser => ({ chat, user })
        )

      const listChats = Effect.fn("ConversationService.listChats")(function* (
        filter: { readonly botId?: BotId | undefined; readonly tgUserId?: number | undefined },
        page: PageRequest
      ) {
        const found = yield* chats.list(filter, page)
        return { items: yield* Effect.forEach(found.items, withUser), nextCursor: found.nextCursor }
      })

      const getChat = Effect.fn("ConversationService.getChat")(function* (id: ChatId) {
        return yield* withUser(yield* chats.findById(id))
      })

      const listMessages = Effect.fn("ConversationService.listMessages")(function* (
        id: ChatId,
        page: PageRequest
      ) {
        yield* chats.findById(id)
        return yield* messages.listByChat(id, page)
      })

      const listSummaries = Effect.fn("ConversationService.listSummaries")(function* (id: ChatId) {
        yield* chats.findById(id)
        return yield* summaries.listByChat(id, 100)
      })

      // Calls are stored under the question a reply answers.
      const toolCallsOf = Effect.fn("ConversationService.toolCallsOf")(function* (
        replies: ReadonlyArray<Message>
      ) {
        const questions = new Map<MessageId, MessageId>()
        for (const reply of replies) {
          if (reply.role === "assistant" && reply.replyTo !== null) questions.set(reply.replyTo, reply.id)
        }
        const byReply = new Map<MessageId, Array<StoredToolCall>>()
        for (const call of yield* toolCalls.forMessages([...questions.keys()])) {
          const reply = questions.get(call.messageId)
          if (reply === undefined) continue
          const calls = byReply.get(reply) ?? []
          calls.push(call)
          byReply.set(reply, calls)
        }
        return byReply as ReadonlyMap<MessageId, ReadonlyArray<StoredToolCall>>
      })

      const send = Effect.fn("ConversationService.send")(function* (id: ChatId, text: string) {
        const chat = yield* chats.findById(id)
        const bot = yield* bots.findById(chat.botId)
        const message = MessageModel.admin({
          id: MessageId.make(randomUUID()),
          chatId: chat.id,
          botId: bot.id,
          thread: chat.thread,
          text,
          at: new Date(yield* Clock.currentTimeMillis)
        })
        yield* transactions.withTransaction(
          Effect.gen(function* () {
            yield* messages.insert(message)
            yield* outbox.enqueue([{ _tag: "TelegramSendMessage", botId: bot.id, messageId: message.id }])
          })
        )
        yield* Effect.logInfo("admin message queued", { chat_id: chat.id, message_id: message.id })
        return message
      })

      const retry = Effect.fn("ConversationService.retry")(function* (id: MessageId) {
        const message = yield* messages.findById(id)
        if (message.status !== "failed") {
          return yield* new NotRetryable({
            reason: `only failed messages can be retried; this one is ${message.status}`
          })
        }
        if (message.role === "admin") {
          const again = MessageModel.retried(message)
          yield* transactions.withTransaction(
            Effect.gen(function* () {
              yield* messages.update(again)
              yield* outbox.enqueue([
                { _tag: "TelegramSendMessage", botId: message.botId, messageId: message.id }
              ])
            })
          )
          return again
        }
        if (message.role !== "assistant" || message.replyTo === null) {
          return yield* new NotRetryable({ reason: "this message is not a reply" })
        }
        const question = yield* messages.findById(message.replyTo)
        if (question.updateId === null)
          return yield* new NotRetryable({ reason: "the question has no Telegram update" })
        const updateId = question.updateId
        const requeued = yield* transactions.withTransaction(
          Effect.gen(function* () {
            yield* messages.delete(message.id)
            return yield* inbox.requeue(message.botId, updateId)
          })
        )
        if (!requeued)
          return yield* new NotRetryable({ reason: "the update behind this reply is no longer stored" })
        yield* Effect.logInfo("failed reply queued again", { message_id: message.id, update_id: updateId })
        return question
      })

      return ConversationService.of({
        listChats,
        getChat,
        listMessages,
        listSummaries,
        toolCallsOf,
        send,
        listFailures: messages.listFailed,
        listFailedUpdates: inbox.listFailed,
        retry
      })
    })
  )
}
