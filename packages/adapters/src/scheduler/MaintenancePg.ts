/** Housekeeping SQL for the scheduled jobs: inbox retention and stale leases. */
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

    return Maintenance.of({ purgeDoneUpdates, clearExpiredLeases, leaseHealth })
  })
)
