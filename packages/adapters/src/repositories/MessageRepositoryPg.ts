/** Messages in `messages`: incoming, generated replies and admin messages. */

import { MessageRepository, type PageRequest, spanFn } from "@botfleet/application"
import {
  type BotId,
  type ChatId,
  type CursorKey,
  type FailureKind,
  KeysetCursor,
  Message,
  type MessageId,
  type MessageKind,
  MessageNotFound,
  type MessageRole,
  type MessageStatus,
  pageSize,
  type TelegramUserId,
  toPage,
  trusted
} from "@botfleet/domain"
import { Array as Arr, Effect, Layer, Option, Request } from "effect"
import { SqlClient, type Statement } from "effect/sql"
import { batchedStatements } from "../postgres/batching.ts"
import { orDieSql } from "../postgres/sqlErrors.ts"

type Int8 = bigint | number | string

export interface MessageRow {
  readonly id: string
  readonly chat_id: string
  readonly bot_id: string
  readonly role: string
  readonly text: string
  readonly thread: number
  readonly tg_user_id: Int8 | null
  readonly update_id: Int8 | null
  readonly reply_to: string | null
  readonly telegram_message_ids: ReadonlyArray<Int8>
  readonly chunks_sent: number
  readonly model: string | null
  readonly input_tokens: number
  readonly output_tokens: number
  /** numeric arrives as text, to keep its precision. */
  readonly cost_usd: string | number
  readonly status: string
  readonly error: string | null
  readonly failure_kind: string | null
  readonly created_at: Date
  readonly sent_at: Date | null
  // conversations
  readonly sender_name: string | null
  readonly kind: string
  /** numeric arrives as text. */
  readonly media_seconds: string | number | null
  readonly topic_id: number | null
  readonly replaced_at: Date | null
}

/** A row as a Message, trusted: the database holds what we wrote, under its column types and checks. */
export const messageFromRow = (row: MessageRow): Effect.Effect<Message> =>
  Effect.succeed(
    trusted(Message, {
      id: row.id as MessageId,
      chatId: row.chat_id as ChatId,
      botId: row.bot_id as BotId,
      role: row.role as MessageRole,
      text: row.text,
      thread: row.thread,
      tgUserId: row.tg_user_id === null ? null : (Number(row.tg_user_id) as TelegramUserId),
      updateId: row.update_id === null ? null : Number(row.update_id),
      replyTo: row.reply_to as MessageId | null,
      telegramMessageIds: row.telegram_message_ids.map(Number),
      chunksSent: row.chunks_sent,
      model: row.model,
      inputTokens: row.input_tokens,
      outputTokens: row.output_tokens,
      costUsd: Number(row.cost_usd),
      status: row.status as MessageStatus,
      error: row.error,
      failureKind: row.failure_kind as FailureKind | null,
      createdAt: row.created_at,
      sentAt: row.sent_at,
      // conversations
      senderName: row.sender_name,
      kind: row.kind as MessageKind,
      mediaSeconds: row.media_seconds === null ? null : Number(row.media_seconds),
      topicId: row.topic_id,
      replacedAt: row.replaced_at
    })
  )

const messageColumns = (message: Message) => ({
  id: message.id,
  chat_id: message.chatId,
  bot_id: message.botId,
  role: message.role,
  text: message.text,
  thread: message.thread,
  tg_user_id: message.tgUserId,
  update_id: message.updateId,
  reply_to: message.replyTo,
  // As bigints, so small and large ids bind as one int8[] parameter.
  telegram_message_ids: message.telegramMessageIds.map(BigInt),
  chunks_sent: message.chunksSent,
  model: message.model,
  input_tokens: message.inputTokens,
  output_tokens: message.outputTokens,
  cost_usd: message.costUsd,
  status: message.status,
  error: message.error,
  failure_kind: message.failureKind,
  created_at: message.createdAt,
  sent_at: message.sentAt,
  // conversations
  sender_name: message.senderName,
  kind: message.kind,
  media_seconds: message.mediaSeconds,
  topic_id: message.topicId,
  replaced_at: message.replacedAt
})

type ConflictTarget = "update" | "reply" | "none"

/** Which unique index a repeat of this message would run into. */
const conflictTarget = (message: Message): ConflictTarget =>
  message.updateId !== null
    ? "update"
    : message.role === "assistant" && message.replyTo !== null
      ? "reply"
      : "none"

class InsertMessage extends Request.Class<{ readonly message: Message }, Message> {}

class HistoryRequest extends Request.Class<
  {
    readonly chatId: ChatId
    readonly thread: number
    readonly topicId: number | null
    readonly limit: number
  },
  ReadonlyArray<Message>
> {}

const keyOf = (message: Message): CursorKey => ({ at: message.createdAt.getTime(), id: message.id })

export const layer: Layer.Layer<MessageRepository, never, SqlClient.SqlClient> = Layer.effect(
  MessageRepository,
  Effect.gen(function* () {
    const fn = yield* spanFn
    const sql = yield* SqlClient.SqlClient
    const toMessages = (rows: ReadonlyArray<MessageRow>) => Effect.forEach(rows, messageFromRow)
    const first = (rows: ReadonlyArray<MessageRow>) =>
      rows[0] === undefined ? Effect.succeedNone : Effect.asSome(messageFromRow(rows[0]))

    const findByUpdate = fn("MessageRepository.findByUpdate")(function* (botId: BotId, updateId: number) {
      return yield* first(
        yield* sql<MessageRow>`SELECT * FROM messages WHERE bot_id = ${botId} AND update_id = ${updateId}`.pipe(
          orDieSql
        )
      )
    })

    const findReply = fn("MessageRepository.findReply")(function* (userMessageId: MessageId) {
      return yield* first(
        yield* sql<MessageRow>`
          SELECT * FROM messages WHERE reply_to = ${userMessageId} AND role = 'assistant'`.pipe(orDieSql)
      )
    })

    /**
     * The conflict target names the partial unique index the message falls
     * under, so a repeat is a no-op while any other clash stays an error.
     */
    const onConflict = (target: ConflictTarget) =>
      target === "update"
        ? sql`ON CONFLICT (bot_id, update_id) WHERE update_id IS NOT NULL DO NOTHING`
        : target === "reply"
          ? sql`ON CONFLICT (reply_to) WHERE reply_to IS NOT NULL AND role = 'assistant' DO NOTHING`
          : sql.literal("")

    /** The row a repeat ran into (the same update's message, the same message's reply). */
    const alreadyStored = (message: Message) =>
      Effect.flatMap(
        message.updateId !== null
          ? findByUpdate(message.botId, message.updateId)
          : message.replyTo !== null
            ? findReply(message.replyTo)
            : Effect.succeedNone,
        Option.match({
          onNone: () => Effect.die(new Error(`message ${message.id} conflicted with a row that is gone`)),
          onSome: Effect.succeed
        })
      )

    const insertOne = (message: Message) =>
      Effect.flatMap(
        sql<MessageRow>`
          INSERT INTO messages ${sql.insert(messageColumns(message))} ${onConflict(conflictTarget(message))}
          RETURNING *`.pipe(orDieSql),
        (inserted) => (inserted[0] !== undefined ? messageFromRow(inserted[0]) : alreadyStored(message))
      )

    // Messages stored at the same moment (the incoming messages and replies of many chats) go in one
    // statement per conflict target: one round trip instead of one each.
    const insertMany = (target: ConflictTarget, requests: Arr.NonEmptyReadonlyArray<InsertMessage>) =>
      sql<MessageRow>`
        INSERT INTO messages ${sql.insert(Arr.map(requests, ({ message }) => messageColumns(message)))}
        ${onConflict(target)}
        RETURNING *`.pipe(
        Effect.map((rows) => {
          const inserted = new Map(rows.map((row) => [row.id, row]))
          return requests.map(({ message }) => {
            const row = inserted.get(message.id)
            return row !== undefined ? messageFromRow(row) : alreadyStored(message)
          })
        })
      )

    const insertResolver = batchedStatements(sql, {
      groupOf: (request: InsertMessage) => conflictTarget(request.message),
      one: (request) => insertOne(request.message),
      many: insertMany
    })

    const insert = fn("MessageRepository.insert")((message: Message) =>
      Effect.request(new InsertMessage({ message }), insertResolver)
    )

    const update = fn("MessageRepository.update")(function* (message: Message) {
      const rows = yield* sql<{ id: string }>`
        UPDATE messages SET ${sql.update(messageColumns(message), ["id"])}
        WHERE id = ${message.id}
        RETURNING id`.pipe(orDieSql)
      if (rows.length === 0) return yield* new MessageNotFound({ messageId: message.id })
    })

    const findById = fn("MessageRepository.findById")(function* (id: MessageId) {
      const rows = yield* sql<MessageRow>`SELECT * FROM messages WHERE id = ${id}`.pipe(orDieSql)
      const row = rows[0]
      if (row === undefined) return yield* new MessageNotFound({ messageId: id })
      return yield* messageFromRow(row)
    })

    // The newest `limit` of the thread, turned back into reading order.
    // A topic's messages are read through the chat's index like the thread's: topics are few and
    // busy, so the newest rows of one are found without a further index to write on every insert.
    const historyOne = ({ chatId, thread, topicId, limit }: HistoryRequest) =>
      sql<MessageRow>`
        SELECT * FROM (
          SELECT * FROM messages
          WHERE chat_id = ${chatId} AND thread = ${thread} AND status <> 'failed' AND replaced_at IS NULL
            AND ${topicId === null ? sql`topic_id IS NULL` : sql`topic_id = ${topicId}`}
          ORDER BY created_at DESC, id DESC
          LIMIT ${limit}
        ) recent
        ORDER BY created_at, id`.pipe(orDieSql, Effect.flatMap(toMessages))

    // The histories of many chats answered at the same moment: one statement, each chat's newest
    // messages through the same index as above.
    const historyMany = (_: "all", requests: ReadonlyArray<HistoryRequest>) =>
      sql<MessageRow & { readonly query: number }>`
        SELECT q.query, recent.*
        FROM jsonb_to_recordset(${JSON.stringify(
          requests.map(({ chatId, thread, topicId, limit }, query) => ({
            query,
            chat_id: chatId,
            thread,
            topic_id: topicId,
            lim: limit
          }))
        )}::jsonb) AS q(query int, chat_id uuid, thread int, topic_id int, lim int)
        CROSS JOIN LATERAL (
          SELECT * FROM messages m
          WHERE m.chat_id = q.chat_id AND m.thread = q.thread AND m.status <> 'failed' AND m.replaced_at IS NULL
            AND m.topic_id IS NOT DISTINCT FROM q.topic_id
          ORDER BY m.created_at DESC, m.id DESC
          LIMIT q.lim
        ) recent
        ORDER BY q.query, recent.created_at, recent.id`.pipe(
        Effect.map((rows) => {
          const byQuery = requests.map((): Array<MessageRow> => [])
          for (const row of rows) byQuery[row.query]!.push(row)
          return byQuery.map(toMessages)
        })
      )

    const historyResolver = batchedStatements(sql, { one: historyOne, many: historyMany })

    const history = fn("MessageRepository.history")(
      (chatId: ChatId, thread: number, topicId: number | null, limit: number) =>
        limit <= 0
          ? Effect.succeed([])
          : Effect.request(
              new HistoryRequest({ chatId, thread, topicId, limit: Math.trunc(limit) }),
              historyResolver
            )
    )

    const newestFirst = (conditions: ReadonlyArray<Statement.Fragment>, page: PageRequest) =>
      Effect.gen(function* () {
        const size = pageSize(page.limit)
        const after = yield* KeysetCursor.decodeOrDie(page.cursor)
        const rows = yield* sql<MessageRow>`
          SELECT * FROM messages
          WHERE ${sql.and([
            ...conditions,
            ...Option.match(after, {
              onNone: () => [],
              onSome: ({ at, id }) => [sql`(created_at, id) < (${new Date(at ?? 0)}, ${id})`]
            })
          ])}
          ORDER BY created_at DESC, id DESC
          LIMIT ${size + 1}`.pipe(orDieSql)
        return toPage(yield* toMessages(rows), size, keyOf)
      })

    const listByChat = fn("MessageRepository.listByChat")(function* (chatId: ChatId, page: PageRequest) {
      return yield* newestFirst([sql`chat_id = ${chatId}`], page)
    })

    const listFailed = fn("MessageRepository.listFailed")(function* (
      filter: { readonly botId?: BotId | undefined },
      page: PageRequest
    ) {
      return yield* newestFirst(
        [sql`status = 'failed'`, ...(filter.botId === undefined ? [] : [sql`bot_id = ${filter.botId}`])],
        page
      )
    })

    const remove = fn("MessageRepository.delete")(function* (id: MessageId) {
      yield* sql`DELETE FROM messages WHERE id = ${id}`.pipe(orDieSql)
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
