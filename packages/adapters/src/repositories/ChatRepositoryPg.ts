/** Chats in `chats`, and the Telegram users who write to our bots in `tg_users`. */

import { ChatRepository, type NewChat, type PageRequest, spanFn } from "@botfleet/application"
import {
  type BotId,
  Chat,
  type ChatId,
  ChatNotFound,
  KeysetCursor,
  pageSize,
  type TelegramChatId,
  type TelegramUserId,
  TgUser,
  toPage,
  trusted
} from "@botfleet/domain"
import { Array as Arr, Effect, Layer, Option, Request, Schema } from "effect"
import { SqlClient } from "effect/sql"
import { batchedStatements } from "../postgres/batching.ts"
import { orDieSql } from "../postgres/sqlErrors.ts"

type Int8 = bigint | number | string

class FindOrCreate extends Request.Class<{ readonly chat: NewChat }, Chat> {}

export interface ChatRow {
  readonly id: string
  readonly bot_id: string
  readonly telegram_chat_id: Int8
  readonly type: string
  readonly title: string | null
  readonly tg_user_id: Int8 | null
  readonly thread: number
  /** jsonb: parsed by the driver, or text from some. */
  readonly topics: unknown
  readonly last_error: string | null
  readonly last_message_at: Date | null
  readonly created_at: Date
}

export interface TgUserRow {
  readonly telegram_id: Int8
  readonly first_name: string
  readonly last_name: string | null
  readonly username: string | null
  readonly language_code: string | null
  readonly is_bot: boolean
  readonly first_seen_at: Date
  readonly last_seen_at: Date
}

const decodeTgUser = Schema.decodeEffect(TgUser)

/** A row as a Chat, trusted: the database holds what we wrote, under its column types and checks. */
export const chatFromRow = (row: ChatRow): Effect.Effect<Chat> =>
  Effect.succeed(
    trusted(Chat, {
      id: row.id as ChatId,
      botId: row.bot_id as BotId,
      telegramChatId: Number(row.telegram_chat_id) as TelegramChatId,
      type: row.type,
      title: row.title,
      tgUserId: row.tg_user_id === null ? null : (Number(row.tg_user_id) as TelegramUserId),
      thread: row.thread,
      topics: (typeof row.topics === "string"
        ? JSON.parse(row.topics)
        : (row.topics ?? {})) as Chat["topics"],
      lastError: row.last_error,
      lastMessageAt: row.last_message_at,
      createdAt: row.created_at
    })
  )

export const tgUserFromRow = (row: TgUserRow): Effect.Effect<TgUser> =>
  decodeTgUser({
    telegramId: Number(row.telegram_id),
    firstName: row.first_name,
    lastName: row.last_name,
    username: row.username,
    languageCode: row.language_code,
    isBot: row.is_bot,
    firstSeenAt: row.first_seen_at,
    lastSeenAt: row.last_seen_at
  }).pipe(orDieSql)

export const layer: Layer.Layer<ChatRepository, never, SqlClient.SqlClient> = Layer.effect(
  ChatRepository,
  Effect.gen(function* () {
    const fn = yield* spanFn
    const sql = yield* SqlClient.SqlClient

    // last_seen_at only moves forward: a redelivered old update must not turn it back.
    const upsertUser = fn("ChatRepository.upsertUser")(function* (user: TgUser) {
      yield* sql`
        INSERT INTO tg_users ${sql.insert({
          telegram_id: user.telegramId,
          first_name: user.firstName,
          last_name: user.lastName,
          username: user.username,
          language_code: user.languageCode,
          is_bot: user.isBot,
          first_seen_at: user.firstSeenAt,
          last_seen_at: user.lastSeenAt
        })}
        ON CONFLICT (telegram_id) DO UPDATE SET
          first_name = excluded.first_name,
          last_name = excluded.last_name,
          username = excluded.username,
          language_code = excluded.language_code,
          last_seen_at = GREATEST(tg_users.last_seen_at, excluded.last_seen_at)`.pipe(orDieSql)
    })

    const findUser = fn("ChatRepository.findUser")(function* (telegramId: number) {
      const rows = yield* sql<TgUserRow>`SELECT * FROM tg_users WHERE telegram_id = ${telegramId}`.pipe(
        orDieSql
      )
      const row = rows[0]
      return row === undefined ? Option.none() : Option.some(yield* tgUserFromRow(row))
    })

    const chatColumns = (chat: NewChat) => ({
      id: crypto.randomUUID(),
      bot_id: chat.botId,
      telegram_chat_id: chat.telegramChatId,
      type: chat.type,
      title: chat.title,
      tg_user_id: chat.tgUserId,
      thread: 1,
      last_message_at: chat.lastMessageAt ?? null
    })

    // With a message time the chat records it (never moved back); without, an existing chat is left alone.
    const onConflict = (touches: boolean) =>
      touches
        ? sql`DO UPDATE SET last_message_at = GREATEST(chats.last_message_at, EXCLUDED.last_message_at)`
        : sql`DO NOTHING`

    const stored = (chat: NewChat) =>
      sql<ChatRow>`
        SELECT * FROM chats WHERE bot_id = ${chat.botId} AND telegram_chat_id = ${chat.telegramChatId}`.pipe(
        orDieSql,
        Effect.flatMap((rows) =>
          rows[0] === undefined
            ? Effect.die(new Error("chat vanished right after it was stored"))
            : chatFromRow(rows[0])
        )
      )

    // Insert-or-nothing, then read: two concurrent first messages of a chat end up with one row.
    const findOrCreateOne = (chat: NewChat) =>
      sql<ChatRow>`
        INSERT INTO chats ${sql.insert(chatColumns(chat))}
        ON CONFLICT (bot_id, telegram_chat_id) ${onConflict(chat.lastMessageAt !== undefined)}
        RETURNING *`.pipe(
        orDieSql,
        Effect.flatMap((inserted) => (inserted[0] !== undefined ? chatFromRow(inserted[0]) : stored(chat)))
      )

    // The chats of many updates at the same moment: one statement (a chat twice in it fails the
    // statement, and each is then done on its own).
    const findOrCreateMany = (touches: boolean, requests: Arr.NonEmptyReadonlyArray<FindOrCreate>) =>
      sql<ChatRow>`
        INSERT INTO chats ${sql.insert(Arr.map(requests, ({ chat }) => chatColumns(chat)))}
        ON CONFLICT (bot_id, telegram_chat_id) ${onConflict(touches)}
        RETURNING *`.pipe(
        Effect.map((rows) => {
          const byKey = new Map(rows.map((row) => [`${row.bot_id}:${row.telegram_chat_id}`, row]))
          return requests.map(({ chat }) => {
            const row = byKey.get(`${chat.botId}:${chat.telegramChatId}`)
            return row !== undefined ? chatFromRow(row) : stored(chat)
          })
        })
      )

    const findOrCreateResolver = batchedStatements(sql, {
      groupOf: (request: FindOrCreate) => request.chat.lastMessageAt !== undefined,
      one: (request) => findOrCreateOne(request.chat),
      many: findOrCreateMany
    })

    const findOrCreate = fn("ChatRepository.findOrCreate")((chat: NewChat) =>
      Effect.request(new FindOrCreate({ chat }), findOrCreateResolver)
    )

    const findById = fn("ChatRepository.findById")(function* (id: ChatId) {
      const rows = yield* sql<ChatRow>`SELECT * FROM chats WHERE id = ${id}`.pipe(orDieSql)
      const row = rows[0]
      if (row === undefined) return yield* new ChatNotFound({ chatId: id })
      return yield* chatFromRow(row)
    })

    const update = fn("ChatRepository.update")(function* (chat: Chat) {
      const rows = yield* sql<{ id: string }>`
        UPDATE chats SET
          thread = ${chat.thread},
          topics = ${JSON.stringify(chat.topics)}::jsonb,
          title = ${chat.title},
          last_error = ${chat.lastError},
          last_message_at = ${chat.lastMessageAt}
        WHERE id = ${chat.id}
        RETURNING id`.pipe(orDieSql)
      if (rows.length === 0) return yield* new ChatNotFound({ chatId: chat.id })
    })

    // Most recently active first, chats without messages last; the id breaks ties.
    const list = fn("ChatRepository.list")(function* (
      filter: { readonly botId?: BotId | undefined; readonly tgUserId?: number | undefined },
      page: PageRequest
    ) {
      const size = pageSize(page.limit)
      const after = yield* KeysetCursor.decodeOrDie(page.cursor)
      const conditions = [
        ...(filter.botId === undefined ? [] : [sql`bot_id = ${filter.botId}`]),
        ...(filter.tgUserId === undefined ? [] : [sql`tg_user_id = ${filter.tgUserId}`]),
        ...Option.match(after, {
          onNone: () => [],
          onSome: ({ at, id }) =>
            at === null
              ? [sql`(last_message_at IS NULL AND id > ${id})`]
              : [
                  sql`(last_message_at < ${new Date(at)}
                    OR (last_message_at = ${new Date(at)} AND id > ${id})
                    OR last_message_at IS NULL)`
                ]
        })
      ]
      const rows = yield* sql<ChatRow>`
        SELECT * FROM chats
        WHERE ${sql.and(conditions)}
        ORDER BY last_message_at DESC NULLS LAST, id
        LIMIT ${size + 1}`.pipe(orDieSql)
      const chats = yield* Effect.forEach(rows, chatFromRow)
      return toPage(chats, size, (chat) => ({ at: chat.lastMessageAt?.getTime() ?? null, id: chat.id }))
    })

    return ChatRepository.of({ upsertUser, findUser, findOrCreate, findById, update, list })
  })
)
