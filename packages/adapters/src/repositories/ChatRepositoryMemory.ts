/** The in-memory twin of ChatRepositoryPg: the same upsert, uniqueness, order and cursors. */

import { ChatRepository, type NewChat, type PageRequest } from "@botfleet/application"
import {
  type BotId,
  Chat,
  ChatId,
  ChatNotFound,
  type CursorKey,
  KeysetCursor,
  pageSize,
  TelegramChatId,
  TelegramUserId,
  TgUser,
  toPage
} from "@botfleet/domain"
import { Clock, Effect, Layer, Option, Ref } from "effect"
import {
  compareIds,
  MemoryStore,
  layer as memoryStoreLayer,
  type Tables,
  withEntry
} from "../memory/MemoryStore.ts"

const keyOf = (chat: Chat): CursorKey => ({ at: chat.lastMessageAt?.getTime() ?? null, id: chat.id })

/** `last_message_at DESC NULLS LAST, id`, as a comparison of cursor keys. */
const compareKeys = (a: CursorKey, b: CursorKey): number => {
  if (a.at !== b.at) {
    if (a.at === null) return 1
    if (b.at === null) return -1
    return b.at - a.at
  }
  return compareIds(a.id, b.id)
}

export const layerNoDeps: Layer.Layer<ChatRepository, never, MemoryStore> = Layer.effect(
  ChatRepository,
  Effect.gen(function* () {
    const store = yield* MemoryStore

    // As in Postgres: names follow the latest update, last_seen_at only moves forward.
    const upsertUser = Effect.fn("ChatRepository.upsertUser")(function* (user: TgUser) {
      yield* Ref.update(store, (tables) => {
        const stored = tables.users.get(user.telegramId)
        const next =
          stored === undefined
            ? user
            : new TgUser({
                ...stored,
                firstName: user.firstName,
                lastName: user.lastName,
                username: user.username,
                languageCode: user.languageCode,
                lastSeenAt: new Date(Math.max(stored.lastSeenAt.getTime(), user.lastSeenAt.getTime()))
              })
        return { ...tables, users: withEntry(tables.users, user.telegramId, next) }
      })
    })

    const findUser = Effect.fn("ChatRepository.findUser")(function* (telegramId: number) {
      return Option.fromNullishOr((yield* Ref.get(store)).users.get(telegramId))
    })

    const findOrCreate = Effect.fn("ChatRepository.findOrCreate")(function* (chat: NewChat) {
      const now = yield* Clock.currentTimeMillis
      return yield* yield* Ref.modify(store, (tables): [Effect.Effect<Chat>, Tables] => {
        const existing = [...tables.chats.values()].find(
          (stored) => stored.botId === chat.botId && stored.telegramChatId === chat.telegramChatId
        )
        if (existing) {
          const at = chat.lastMessageAt
          if (at === undefined || (existing.lastMessageAt !== null && existing.lastMessageAt >= at)) {
            return [Effect.succeed(existing), tables]
          }
          const touched = new Chat({ ...existing, lastMessageAt: at })
          return [Effect.succeed(touched), { ...tables, chats: withEntry(tables.chats, touched.id, touched) }]
        }
        // The foreign keys of `chats`: breaking one is a bug in the caller, a defect there too.
        if (!tables.bots.has(chat.botId)) return [Effect.die(new Error(`no bot ${chat.botId}`)), tables]
        if (chat.tgUserId !== null && !tables.users.has(chat.tgUserId)) {
          return [Effect.die(new Error(`no Telegram user ${chat.tgUserId}`)), tables]
        }
        const created = new Chat({
          id: ChatId.make(crypto.randomUUID()),
          botId: chat.botId,
          telegramChatId: TelegramChatId.make(chat.telegramChatId),
          type: chat.type,
          title: chat.title,
          tgUserId: chat.tgUserId === null ? null : TelegramUserId.make(chat.tgUserId),
          thread: 1,
          lastError: null,
          lastMessageAt: chat.lastMessageAt ?? null,
          createdAt: new Date(now)
        })
        return [Effect.succeed(created), { ...tables, chats: withEntry(tables.chats, created.id, created) }]
      })
    })

    const findById = Effect.fn("ChatRepository.findById")(function* (id: ChatId) {
      const chat = (yield* Ref.get(store)).chats.get(id)
      if (chat === undefined) return yield* new ChatNotFound({ chatId: id })
      return chat
    })

    const update = Effect.fn("ChatRepository.update")(function* (chat: Chat) {
      return yield* yield* Ref.modify(store, (tables): [Effect.Effect<void, ChatNotFound>, Tables] => {
        const stored = tables.chats.get(chat.id)
        if (stored === undefined) return [Effect.fail(new ChatNotFound({ chatId: chat.id })), tables]
        const next = new Chat({
          ...stored,
          thread: chat.thread,
          topics: chat.topics,
          title: chat.title,
          lastError: chat.lastError,
          lastMessageAt: chat.lastMessageAt
        })
        return [Effect.void, { ...tables, chats: withEntry(tables.chats, chat.id, next) }]
      })
    })

    const list = Effect.fn("ChatRepository.list")(function* (
      filter: { readonly botId?: BotId | undefined; readonly tgUserId?: number | undefined },
      page: PageRequest
    ) {
      const size = pageSize(page.limit)
      const after = yield* KeysetCursor.decodeOrDie(page.cursor)
      const chats = [...(yield* Ref.get(store)).chats.values()]
        .filter(
          (chat) =>
            (filter.botId === undefined || chat.botId === filter.botId) &&
            (filter.tgUserId === undefined || chat.tgUserId === filter.tgUserId) &&
            Option.match(after, { onNone: () => true, onSome: (key) => compareKeys(keyOf(chat), key) > 0 })
        )
        .sort((a, b) => compareKeys(keyOf(a), keyOf(b)))
      return toPage(chats.slice(0, size + 1), size, keyOf)
    })

    return ChatRepository.of({ upsertUser, findUser, findOrCreate, findById, update, list })
  })
)

/** On its own tables; `layerMemory`s merged into one build share one MemoryStore (layers are memoised). */
export const layerMemory: Layer.Layer<ChatRepository> = layerNoDeps.pipe(Layer.provide(memoryStoreLayer))
