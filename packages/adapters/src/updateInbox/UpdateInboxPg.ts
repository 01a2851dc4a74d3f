/**
 * The update inbox in PostgreSQL. Leases live in `chat_leases`: a process owns
 * a chat until its lease runs out, so a process that dies loses its chats to
 * the others within one lease period and nothing is processed twice at once.
 */
import type {
  FailedUpdate,
  InboundUpdate,
  LeaseShare,
  PageRequest,
  PendingUpdate
} from "@botfleet/application"
import { spanFn, UpdateInbox } from "@botfleet/application"
import { BotId, pageSize, SerialCursor } from "@botfleet/domain"
import { Effect, Layer, Option, Request } from "effect"
import { SqlClient } from "effect/sql"
import { batchedStatements } from "../postgres/batching.ts"
import { orDieSql } from "../postgres/sqlErrors.ts"

interface UpdateRow {
  readonly id: string | number | bigint
  readonly bot_id: string
  readonly update_id: string | number | bigint
  readonly chat_key: string
  readonly payload: unknown
  readonly traceparent: string | null
  readonly attempts: number
  readonly received_at: Date
  readonly due: boolean
  readonly settings_version: string | number | bigint
}

class AcceptRequest extends Request.Class<{ readonly update: InboundUpdate }, "accepted" | "duplicate"> {}

/** An update as one row of the batch's JSON array (`jsonb_to_recordset`). */
const toRecord = (update: InboundUpdate) => ({
  bot_id: update.botId,
  update_id: update.updateId,
  chat_key: update.chatKey,
  payload: update.payload,
  traceparent: update.traceparent
})

const toPending = (row: UpdateRow): PendingUpdate => ({
  id: Number(row.id),
  botId: BotId.make(row.bot_id),
  updateId: Number(row.update_id),
  chatKey: row.chat_key,
  payload: typeof row.payload === "string" ? JSON.parse(row.payload) : row.payload,
  traceparent: row.traceparent,
  attempts: row.attempts,
  receivedAt: row.received_at,
  settingsVersion: Number(row.settings_version)
})

export const layer: Layer.Layer<UpdateInbox, never, SqlClient.SqlClient> = Layer.effect(
  UpdateInbox,
  Effect.gen(function* () {
    const fn = yield* spanFn
    const sql = yield* SqlClient.SqlClient

    // The webhook reuses a bot it read until it learns of a newer settings version: a bot disabled
    // (or stopped, or deleted) meanwhile gets nothing stored, like a repeat, rather than an update
    // or a foreign-key error.
    const acceptOne = (update: InboundUpdate) =>
      sql<{ id: string }>`
        INSERT INTO telegram_updates (bot_id, update_id, chat_key, payload, traceparent)
        SELECT ${update.botId}::uuid, ${update.updateId}::bigint, ${update.chatKey}::text,
               ${JSON.stringify(update.payload)}::jsonb, ${update.traceparent}::text
        WHERE EXISTS (SELECT 1 FROM bots WHERE id = ${update.botId}::uuid AND active)
        ON CONFLICT (bot_id, update_id) DO NOTHING
        RETURNING id`.pipe(
        Effect.map((rows) => (rows.length > 0 ? ("accepted" as const) : ("duplicate" as const)))
      )

    // Updates arriving together (webhooks of many chats, pollers of many bots) are stored by one
    // statement: one round trip and one commit instead of one each.
    const acceptMany = (_: "all", requests: ReadonlyArray<AcceptRequest>) =>
      sql<{ bot_id: string; update_id: string | number | bigint }>`
        INSERT INTO telegram_updates (bot_id, update_id, chat_key, payload, traceparent)
        SELECT r.bot_id, r.update_id, r.chat_key, r.payload, r.traceparent
        FROM jsonb_to_recordset(${JSON.stringify(requests.map(({ update }) => toRecord(update)))}::jsonb)
          AS r(bot_id uuid, update_id bigint, chat_key text, payload jsonb, traceparent text)
        WHERE EXISTS (SELECT 1 FROM bots WHERE id = r.bot_id AND active)
        ON CONFLICT (bot_id, update_id) DO NOTHING
        RETURNING bot_id, update_id`.pipe(
        Effect.map((rows) => {
          // The first of several copies of one update in a batch is the one stored.
          const stored = new Set(rows.map((row) => `${row.bot_id}:${row.update_id}`))
          return requests.map(({ update }) =>
            Effect.succeed(
              stored.delete(`${update.botId}:${update.updateId}`)
                ? ("accepted" as const)
                : ("duplicate" as const)
            )
          )
        })
      )

    const acceptResolver = batchedStatements(sql, {
      one: (request: AcceptRequest) => orDieSql(acceptOne(request.update)),
      many: acceptMany
    })

    const accept = fn("UpdateInbox.accept")((update: InboundUpdate) =>
      Effect.request(new AcceptRequest({ update }), acceptResolver)
    )

    const leaseChats = fn("UpdateInbox.leaseChats")(function* (
      owner: string,
      limit: number,
      leaseSeconds: number,
      share?: LeaseShare
    ) {
      // Shared out by bot: a bot's n-th due chat (counting those it has in flight here) comes
      // after every other bot's (n-1)-th, oldest first within a rank, and none past the cap: perBot,
      // or the bot's own maxConcurrentChats when lower (LEAST skips a NULL), read here so an edit
      // applies at the next look.
      const active = JSON.stringify(Object.fromEntries(share?.active ?? []))
      const perBot = share?.perBot ?? 2_147_483_647
      const fair = share !== undefined
      // The head rows come back with the leases: the chat starts on its update without another look.
      const rows = yield* sql<UpdateRow>`
        WITH heads AS (
          SELECT DISTINCT ON (chat_key) chat_key, id, bot_id, next_attempt_at
          FROM telegram_updates
          WHERE status = 'pending'
          ORDER BY chat_key, update_id
        ), free AS (
          SELECT heads.chat_key, heads.id, heads.next_attempt_at, bot.max_concurrent_chats AS cap,
                 CASE WHEN ${fair}::boolean THEN
                   row_number() OVER (PARTITION BY heads.bot_id ORDER BY heads.next_attempt_at)
                   + coalesce((${active}::jsonb ->> heads.bot_id::text)::int, 0)
                 ELSE 1 END AS turn
          FROM heads LEFT JOIN chat_leases lease ON lease.chat_key = heads.chat_key
            LEFT JOIN bots bot ON bot.id = heads.bot_id
          WHERE heads.next_attempt_at <= now() AND (lease.chat_key IS NULL OR lease.expires_at < now())
        ), due AS (
          SELECT chat_key, id FROM free
          WHERE turn <= LEAST(cap, ${perBot}::int)
          ORDER BY turn, next_attempt_at
          LIMIT ${limit}
        ), leased AS (
          INSERT INTO chat_leases (chat_key, owner, expires_at)
          SELECT chat_key, ${owner}, now() + make_interval(secs => ${leaseSeconds}) FROM due
          ON CONFLICT (chat_key) DO UPDATE SET owner = EXCLUDED.owner, expires_at = EXCLUDED.expires_at
            WHERE chat_leases.expires_at < now()
          RETURNING chat_key
        )
        SELECT u.id, u.bot_id, u.update_id, u.chat_key, u.payload, u.traceparent, u.attempts, u.received_at,
               true AS due, (SELECT version FROM settings_version) AS settings_version
        FROM leased JOIN due USING (chat_key) JOIN telegram_updates u ON u.id = due.id`
      return rows.map((row) => ({ chatKey: row.chat_key, head: toPending(row) }))
    }, orDieSql)

    const renewLease = fn("UpdateInbox.renewLease")(function* (
      chatKey: string,
      owner: string,
      leaseSeconds: number
    ) {
      const rows = yield* sql<{ chat_key: string }>`
        UPDATE chat_leases SET expires_at = now() + make_interval(secs => ${leaseSeconds})
        WHERE chat_key = ${chatKey} AND owner = ${owner}
        RETURNING chat_key`
      return rows.length > 0
    }, orDieSql)

    const releaseLease = fn("UpdateInbox.releaseLease")(function* (chatKey: string, owner: string) {
      yield* sql`DELETE FROM chat_leases WHERE chat_key = ${chatKey} AND owner = ${owner}`
    }, orDieSql)

    const nextDue = fn("UpdateInbox.nextDue")(function* (chatKey: string) {
      const rows = yield* sql<UpdateRow>`
        SELECT id, bot_id, update_id, chat_key, payload, traceparent, attempts, received_at,
               next_attempt_at <= now() AS due, (SELECT version FROM settings_version) AS settings_version
        FROM telegram_updates
        WHERE chat_key = ${chatKey} AND status = 'pending'
        ORDER BY update_id
        LIMIT 1`
      const head = rows[0]
      return head?.due ? Option.some(toPending(head)) : Option.none()
    }, orDieSql)

    const markDone = fn("UpdateInbox.markDone")(function* (id: number) {
      yield* sql`
        UPDATE telegram_updates SET status = 'done', attempts = attempts + 1, processed_at = now()
        WHERE id = ${id}`
    }, orDieSql)

    // One statement, one snapshot: the SELECT still sees the row as pending, so it is left out by id.
    // A next update only while the lease is still ours: a process that lost the chat (its lease ran
    // out and another took it) stops here instead of working on beside the new owner.
    // Nothing due next: the lease goes too. An update stored meanwhile wakes the dispatcher, which
    // leases the chat again once this commits.
    const markDoneAndNext = fn("UpdateInbox.markDoneAndNext")(function* (
      id: number,
      chatKey: string,
      owner: string
    ) {
      const rows = yield* sql<UpdateRow>`
        WITH done AS (
          UPDATE telegram_updates SET status = 'done', attempts = attempts + 1, processed_at = now()
          WHERE id = ${id}
        ), next AS (
          SELECT id, bot_id, update_id, chat_key, payload, traceparent, attempts, received_at,
                 next_attempt_at <= now() AS due, (SELECT version FROM settings_version) AS settings_version
          FROM telegram_updates
          WHERE chat_key = ${chatKey} AND status = 'pending' AND id <> ${id}
            AND EXISTS (SELECT 1 FROM chat_leases WHERE chat_key = ${chatKey} AND owner = ${owner})
          ORDER BY update_id
          LIMIT 1
        ), released AS (
          DELETE FROM chat_leases
          WHERE chat_key = ${chatKey} AND owner = ${owner} AND NOT EXISTS (SELECT 1 FROM next WHERE due)
        )
        SELECT * FROM next`
      const head = rows[0]
      return head?.due ? Option.some(toPending(head)) : Option.none()
    }, orDieSql)

    const postpone = fn("UpdateInbox.postpone")(function* (
      id: number,
      chatKey: string,
      owner: string,
      at: Date
    ) {
      yield* sql`
        WITH later AS (
          UPDATE telegram_updates SET next_attempt_at = ${at} WHERE id = ${id}
        )
        DELETE FROM chat_leases WHERE chat_key = ${chatKey} AND owner = ${owner}`
    }, orDieSql)

    const reschedule = fn("UpdateInbox.reschedule")(function* (id: number, error: string, retryAt: Date) {
      yield* sql`
        UPDATE telegram_updates SET attempts = attempts + 1, last_error = ${error}, next_attempt_at = ${retryAt}
        WHERE id = ${id}`
    }, orDieSql)

    const markFailed = fn("UpdateInbox.markFailed")(function* (id: number, error: string) {
      yield* sql`
        UPDATE telegram_updates SET status = 'failed', attempts = attempts + 1, last_error = ${error}, processed_at = now()
        WHERE id = ${id}`
    }, orDieSql)

    const stats = Effect.gen(function* () {
      const [pending] = yield* sql<{ count: number; oldest: number | null }>`
        SELECT count(*)::int AS count, extract(epoch FROM now() - min(received_at))::float8 AS oldest
        FROM telegram_updates WHERE status = 'pending'`
      const [failed] = yield* sql<{ count: number }>`
        SELECT count(*)::int AS count FROM telegram_updates WHERE status = 'failed'`
      return {
        pending: pending?.count ?? 0,
        oldestPendingAgeSeconds: Math.max(0, pending?.oldest ?? 0),
        failed: failed?.count ?? 0
      }
    }).pipe(orDieSql, Effect.withSpan("UpdateInbox.stats"))

    const requeue = fn("UpdateInbox.requeue")(function* (botId: string, updateId: number) {
      const rows = yield* sql<{ id: string }>`
        UPDATE telegram_updates
        SET status = 'pending', attempts = 0, next_attempt_at = now(), last_error = NULL, processed_at = NULL
        WHERE bot_id = ${botId} AND update_id = ${updateId}
        RETURNING id`
      return rows.length > 0
    }, orDieSql)

    const listFailed = fn("UpdateInbox.listFailed")(function* (
      filter: { readonly botId?: BotId | undefined },
      page: PageRequest
    ) {
      const size = pageSize(page.limit)
      const after = SerialCursor.decode(page.cursor)
      const rows = yield* sql<{
        id: string
        bot_id: string
        update_id: string
        last_error: string | null
        attempts: number
        received_at: Date
        processed_at: Date | null
      }>`
        SELECT id, bot_id, update_id, last_error, attempts, received_at, processed_at
        FROM telegram_updates
        WHERE status = 'failed'
          ${filter.botId === undefined ? sql`` : sql`AND bot_id = ${filter.botId}`}
          ${Option.isSome(after) ? sql`AND id < ${after.value}` : sql``}
        ORDER BY id DESC
        LIMIT ${size + 1}`
      const items = rows.slice(0, size).map(
        (row): FailedUpdate => ({
          id: Number(row.id),
          botId: BotId.make(row.bot_id),
          updateId: Number(row.update_id),
          error: row.last_error,
          attempts: row.attempts,
          receivedAt: row.received_at,
          failedAt: row.processed_at
        })
      )
      const last = items[items.length - 1]
      return { items, nextCursor: rows.length > size && last ? SerialCursor.encode(last.id) : null }
    }, orDieSql)

    return UpdateInbox.of({
      listFailed,
      requeue,
      accept,
      leaseChats,
      renewLease,
      releaseLease,
      nextDue,
      markDoneAndNext,
      markDone,
      postpone,
      reschedule,
      markFailed,
      stats
    })
  })
)
