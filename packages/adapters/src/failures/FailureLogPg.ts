/**
 * Failed messages, inbox updates, outbox effects and knowledge documents as
 * one list (a UNION over the four tables' failed rows), and the requeue of an
 * update or an effect (a document is requeued by its own repository).
 */

import { type Failure, type FailureFilter, FailureLog, type PageRequest } from "@botfleet/application"
import { FailureCursor, pageSize } from "@botfleet/domain"
import { Effect, Layer, Option } from "effect"
import { SqlClient } from "effect/sql"

interface FailureRow {
  readonly kind: Failure["kind"]
  readonly ref: string
  readonly bot_id: string | null
  readonly chat_id: string | null
  readonly error: string | null
  readonly attempts: number | null
  readonly at: Date
  readonly summary: string
}

export const layer: Layer.Layer<FailureLog, never, SqlClient.SqlClient> = Layer.effect(
  FailureLog,
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient

    const list = Effect.fn("FailureLog.list")(function* (filter: FailureFilter, page: PageRequest) {
      const size = pageSize(page.limit)
      // The position is a time (whole ms, truncated in SQL) and a failure reference.
      const after = yield* FailureCursor.decodeOrDie(page.cursor)
      const conditions = [
        ...(filter.botId === undefined ? [] : [sql`f.bot_id = ${filter.botId}`]),
        ...(filter.kind === undefined ? [] : [sql`f.kind = ${filter.kind}`]),
        ...Option.match(after, {
          onNone: () => [],
          onSome: ({ at, ref }) => [sql`(f.at, f.ref) < (${new Date(at)}, ${ref})`]
        })
      ]
      const rows = yield* sql<FailureRow>`
        SELECT * FROM (
          SELECT 'message' AS kind, 'message:' || m.id AS ref, m.bot_id::text AS bot_id,
                 m.chat_id::text AS chat_id, m.error, NULL::int AS attempts,
                 date_trunc('milliseconds', m.created_at) AS at, left(m.text, 200) AS summary
          FROM messages m WHERE m.status = 'failed'
          UNION ALL
          SELECT 'update', 'update:' || u.id, u.bot_id::text, NULL, u.last_error, u.attempts,
                 date_trunc('milliseconds', coalesce(u.processed_at, u.received_at)),
                 'update ' || u.update_id || ' of chat ' || u.chat_key
          FROM telegram_updates u WHERE u.status = 'failed'
          UNION ALL
          SELECT 'effect', 'effect:' || e.id, e.payload ->> 'botId', NULL, e.last_error, e.attempts,
                 date_trunc('milliseconds', e.created_at), e.kind
          FROM domain_effects e WHERE e.status = 'failed'
          UNION ALL
          SELECT 'document', 'document:' || d.id, NULL, NULL, d.error, d.attempts,
                 date_trunc('milliseconds', d.updated_at),
                 left(d.name, 150) || ' (knowledge base ' || left(k.name, 40) || ')'
          FROM knowledge_documents d JOIN knowledge_bases k ON k.id = d.knowledge_base_id
          WHERE d.state = 'failed'
        ) f
        WHERE ${sql.and(conditions.length > 0 ? conditions : [sql`true`])}
        ORDER BY f.at DESC, f.ref DESC
        LIMIT ${size + 1}`.pipe(Effect.orDie)
      const failures: ReadonlyArray<Failure> = rows.map((row) => ({
        ref: row.ref,
        kind: row.kind,
        botId: row.bot_id,
        chatId: row.chat_id,
        error: row.error,
        attempts: row.attempts,
        at: row.at,
        summary: row.summary
      }))
      const items = failures.slice(0, size)
      const last = items.at(-1)
      return {
        items,
        nextCursor:
          failures.length > size && last !== undefined
            ? FailureCursor.encode({ at: last.at.getTime(), ref: last.ref })
            : null
      }
    })

    /** "requeued" when `update` changed a failed row; else whether the row exists at all. */
    const requeue = (
      update: Effect.Effect<ReadonlyArray<unknown>, unknown>,
      exists: Effect.Effect<ReadonlyArray<unknown>, unknown>
    ) =>
      Effect.gen(function* () {
        if ((yield* update).length > 0) return "requeued" as const
        return (yield* exists).length > 0 ? ("not_failed" as const) : ("missing" as const)
      }).pipe(Effect.orDie)

    const requeueUpdate = Effect.fn("FailureLog.requeueUpdate")(function* (id: number) {
      return yield* requeue(
        sql`
          UPDATE telegram_updates
          SET status = 'pending', attempts = 0, next_attempt_at = now(), last_error = NULL, processed_at = NULL
          WHERE id = ${id} AND status = 'failed' RETURNING id`,
        sql`SELECT 1 FROM telegram_updates WHERE id = ${id}`
      )
    })

    // attempts start again at 0: the runner allows a retried effect its full set of attempts.
    const requeueEffect = Effect.fn("FailureLog.requeueEffect")(function* (id: number) {
      return yield* requeue(
        sql`
          UPDATE domain_effects SET status = 'pending', attempts = 0, next_attempt_at = now()
          WHERE id = ${id} AND status = 'failed' RETURNING id`,
        sql`SELECT 1 FROM domain_effects WHERE id = ${id}`
      )
    })

    return FailureLog.of({ list, requeueUpdate, requeueEffect })
  })
)
