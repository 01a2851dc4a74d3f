/** The in-memory twin of MessageRepositoryPg: the same idempotent inserts, history and pages. */

import { MessageRepository, type PageRequest } from "@botfleet/application"
import {
  type BotId,
  type ChatId,
  type CursorKey,
  KeysetCursor,
  Message,
  type MessageId,
  MessageNotFound,
  pageSize,
  toPage
} from "@botfleet/domain"
import { Effect, Layer, Option, Ref } from "effect"
import {
  compareIds,
  MemoryStore,
  layer as memoryStoreLayer,
  type Tables,
  withEntry
} from "../memory/MemoryStore.ts"

const keyOf = (message: Message): CursorKey => ({ at: message.createdAt.getTime(), id: message.id })

/** `created_at, id` ascending. */
const compareKeys = (a: CursorKey, b: CursorKey): number =>
  (a.at ?? 0) - (b.at ?? 0) || compareIds(a.id, b.id)

const oldestFirst = (a: Message, b: Message): number => compareKeys(keyOf(a), keyOf(b))

const isReply = (message: Message): boolean => message.role === "assistant" && message.replyTo !== null

/** What `numeric(14, 8)` keeps of the cost, so both twins hand back the same value. */
const asStored = (message: Message): Message =>
  new Message({ ...message, costUsd: Math.round(message.costUsd * 1e8) / 1e8 })

/** The unique indexes of `messages`, other than the primary key. */
const clashesWith =
  (message: Message) =>
  (other: Message): boolean =>
    other.id !== message.id &&
    ((message.updateId !== null && other.botId === message.botId && other.updateId === message.updateId) ||
      (isReply(message) && isReply(other) && other.replyTo === message.replyTo))

/** Foreign keys broken, or a unique index the insert does not expect: defects, as in Postgres. */
const violationOf = (tables: Tables, message: Message): string | undefined => {
  if (!tables.chats.has(message.chatId)) return `no chat ${message.chatId}`
  if (!tables.bots.has(message.botId)) return `no bot ${message.botId}`
  if (message.tgUserId !== null && !tables.users.has(message.tgUserId)) return `no user ${message.tgUserId}`
  if (message.replyTo !== null && !tables.messages.has(message.replyTo)) {
    return `no message ${message.replyTo}`
  }
  if ([...tables.messages.values()].some(clashesWith(message))) return `message ${message.id} is a duplicate`
  return undefined
}

export const layerNoDeps: Layer.Layer<MessageRepository, never, MemoryStore> = Layer.effect(
  MessageRepository,
  Effect.gen(function* () {
    const store = yield* MemoryStore
    const messages = Effect.map(Ref.get(store), (tables) => [...tables.messages.values()])

    const insert = Effect.fn("MessageRepository.insert")(function* (message: Message) {
      return yield* yield* Ref.modify(store, (tables): [Effect.Effect<Message>, Tables] => {
        const all = [...tables.messages.values()]
        // Only a clash on the index the message falls under is a repeat (the conflict target in SQL).
        const repeated =
          message.updateId !== null
            ? all.find((other) => other.botId === message.botId && other.updateId === message.updateId)
            : isReply(message)
              ? all.find((other) => isReply(other) && other.replyTo === message.replyTo)
              : undefined
        if (repeated) return [Effect.succeed(repeated), tables]
        if (tables.messages.has(message.id)) {
          return [Effect.die(new Error(`duplicate message id ${message.id}`)), tables]
        }
        const violation = violationOf(tables, message)
        if (violation) return [Effect.die(new Error(violation)), tables]
        const stored = asStored(message)
        return [
          Effect.succeed(stored),
          { ...tables, messages: withEntry(tables.messages, message.id, stored) }
        ]
      })
    })

    const update = Effect.fn("MessageRepository.update")(function* (message: Message) {
      return yield* yield* Ref.modify(store, (tables): [Effect.Effect<void, MessageNotFound>, Tables] => {
        if (!tables.messages.has(message.id)) {
          return [Effect.fail(new MessageNotFound({ messageId: message.id })), tables]
        }
        const violation = violationOf(tables, message)
        if (violation) return [Effect.die(new Error(violation)), tables]
        return [
          Effect.void,
          { ...tables, messages: withEntry(tables.messages, message.id, asStored(message)) }
        ]
      })
    })

    const findById = Effect.fn("MessageRepository.findById")(function* (id: MessageId) {
      const message = (yield* Ref.get(store)).messages.get(id)
      if (message === undefined) return yield* new MessageNotFound({ messageId: id })
      return message
    })

    const findByUpdate = Effect.fn("MessageRepository.findByUpdate")(function* (
      botId: BotId,
      updateId: number
    ) {
      return Option.fromNullishOr(
        (yield* messages).find((message) => message.botId === botId && message.updateId === updateId)
      )
    })

    const findReply = Effect.fn("MessageRepository.findReply")(function* (userMessageId: MessageId) {
      return Option.fromNullishOr(
        (yield* messages).find((message) => message.role === "assistant" && message.replyTo === userMessageId)
      )
    })

    const history = Effect.fn("MessageRepository.history")(function* (
      chatId: ChatId,
      thread: number,
      topicId: number | null,
      limit: number
    ) {
      if (limit <= 0) return []
      const inThread = (yield* messages)
        .filter(
          (message) =>
            message.chatId === chatId &&
            message.thread === thread &&
            message.topicId === topicId &&
            message.status !== "failed" &&
            message.replacedAt === null
        )
        .sort(oldestFirst)
      return inThread.slice(Math.max(0, inThread.length - Math.trunc(limit)))
    })

    const newestFirst = (keep: (message: Message) => boolean, page: PageRequest) =>
      Effect.gen(function* () {
        const size = pageSize(page.limit)
        const after = yield* KeysetCursor.decodeOrDie(page.cursor)
        const found = (yield* messages)
          .filter(
            (message) =>
              keep(message) &&
              Option.match(after, {
                onNone: () => true,
                onSome: (key) => compareKeys(keyOf(message), key) < 0
              })
          )
          .sort((a, b) => oldestFirst(b, a))
        return toPage(found.slice(0, size + 1), size, keyOf)
      })

    const listByChat = Effect.fn("MessageRepository.listByChat")(function* (
      chatId: ChatId,
      page: PageRequest
    ) {
      return yield* newestFirst((message) => message.chatId === chatId, page)
    })

    const listFailed = Effect.fn("MessageRepository.listFailed")(function* (
      filter: { readonly botId?: BotId | undefined },
      page: PageRequest
    ) {
      return yield* newestFirst(
        (message) =>
          message.status === "failed" && (filter.botId === undefined || message.botId === filter.botId),
        page
      )
    })

    const remove = Effect.fn("MessageRepository.delete")(function* (id: MessageId) {
      yield* Ref.update(store, (tables) => {
        const messages = new Map(tables.messages)
        messages.delete(id)
        return { ...tables, messages }
      })
    })

    return MessageRepository.of({
      insert,
      update,
      delete: remove,
      findById,
      findByUpdate,
      findReply,
      history,
      listByChat,
      listFailed
    })
  })
)

/** On its own tables; `layerMemory`s merged into one build share one MemoryStore (layers are memoised). */
export const layerMemory: Layer.Layer<MessageRepository> = layerNoDeps.pipe(Layer.provide(memoryStoreLayer))
