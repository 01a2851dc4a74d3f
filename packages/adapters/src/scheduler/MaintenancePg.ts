/** Housekeeping SQL for the scheduled jobs: inbox and history retention, stale leases. */
import { Maintenance, Metrics } from "@botfleet/application"
import { Effect, Layer } from "effect"
import { SqlClient } from "effect/sql"

export const layer: Layer.Layer<Maintenance, never, SqlClient.SqlClient> = Layer.effect(
  Maintenance,
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient

    // Oldest first through telegram_updates_done_idx; SKIP LOCKED so a row being
    // requeued by an admin at this moment is left alone.
    const purgeDoneUpdates = Effect.fn("Maintenance.purgeDoneUpdates")(function* (
      before: Date,
      limit: number
    ) {
      const rows = yield* sql`
        DELETE FROM telegram_updates
        WHERE id IN (
          SELECT id FROM telegram_updates
          WHERE status = 'done' AND processed_at < ${before}
          ORDER BY processed_at
          LIMIT ${Math.trunc(limit)}
          FOR UPDATE SKIP LOCKED
        )
        RETURNING 1`.pipe(Effect.orDie, Metrics.timedQuery("retention_purge"))
      return rows.length
    })

    const clearExpiredLeases = Effect.fn("Maintenance.clearExpiredLeases")(function* (graceSeconds: number) {
      const rows = yield* sql`
        DELETE FROM chat_leases WHERE expires_at < now() - make_interval(secs => ${graceSeconds})
        RETURNING 1`.pipe(Effect.orDie)
      return rows.length
    })

    const leaseHealth = Effect.gen(function* () {
      const [row] = yield* sql<{ expired: number; pending: number; oldest: number | null }>`
        SELECT
          (SELECT count(*)::int FROM chat_leases WHERE expires_at < now()) AS expired,
          (SELECT count(*)::int FROM telegram_updates WHERE status = 'pending') AS pending,
          (SELECT extract(epoch FROM now() - min(received_at))::float8
             FROM telegram_updates WHERE status = 'pending') AS oldest`
      return {
        expired: row?.expired ?? 0,
        pending: row?.pending ?? 0,
        oldestPendingAgeSeconds: row?.oldest ?? 0
      }
    }).pipe(Effect.orDie)

    const retentionBots = sql<{ bot_id: string; days: number }>`
      SELECT id::text AS bot_id, history_retention_days AS days
      FROM bots WHERE history_retention_days IS NOT NULL ORDER BY id`.pipe(
      Effect.map((rows) => rows.map((row) => ({ botId: row.bot_id, days: row.days }))),
      Effect.orDie
    )

    // One statement: the rows go and their tallies arrive together, or neither. Every CTE
    // reads the snapshot from before the DELETE, so a reply deleted in the same batch still
    // gives its user message's latency. The scan walks messages_created_idx (created_at,
    // bot_id), oldest first, so no extra index costs the hot path a write.
    const purgeMessages = Effect.fn("Maintenance.purgeMessages")(function* (
      botId: string,
      before: Date,
      limit: number
    ) {
      const [row] = yield* sql<{ deleted: number }>`
        WITH doomed AS (
          SELECT id FROM messages
          WHERE created_at < ${before} AND bot_id = ${botId}
          ORDER BY created_at
          LIMIT ${Math.trunc(limit)}
          FOR UPDATE SKIP LOCKED
        ), unlinked AS (
          -- A reply that stays forgets its deleted question (reply_to has no foreign key).
          UPDATE messages r SET reply_to = NULL
          FROM doomed d
          WHERE r.reply_to = d.id AND r.role = 'assistant'
            AND NOT EXISTS (SELECT 1 FROM doomed x WHERE x.id = r.id)
        ), gone AS (
          DELETE FROM messages m USING doomed d WHERE m.id = d.id
          RETURNING m.id, m.bot_id, m.chat_id, m.tg_user_id, m.role, m.status, m.input_tokens,
            m.output_tokens, m.cost_usd, m.created_at
        ), tallied AS (
          INSERT INTO message_tallies (id, bot_id, chat_id, tg_user_id, role, status, input_tokens,
            output_tokens, cost_usd, created_at, latency_ms)
          SELECT g.id, g.bot_id, g.chat_id, g.tg_user_id, g.role, g.status, g.input_tokens,
            g.output_tokens, g.cost_usd, g.created_at,
            CASE WHEN g.role = 'user' THEN (
              SELECT (extract(epoch FROM r.sent_at - g.created_at) * 1000)::float8
              FROM messages r
              WHERE r.reply_to = g.id AND r.role = 'assistant' AND r.status = 'sent' AND r.sent_at IS NOT NULL
              LIMIT 1
            ) END
          FROM gone g
          ON CONFLICT (id) DO NOTHING
        ), summaries AS (
          -- A running summary whose every message is past the cutoff goes with them.
          DELETE FROM thread_summaries s
          WHERE s.bot_id = ${botId} AND s.covers_up_to_at < ${before}
        )
        SELECT count(*)::int AS deleted FROM gone`.pipe(Effect.orDie, Metrics.timedQuery("history_purge"))
      return row?.deleted ?? 0
    })

    return Maintenance.of({ purgeDoneUpdates, clearExpiredLeases, leaseHealth, retentionBots, purgeMessages })
  })
)
