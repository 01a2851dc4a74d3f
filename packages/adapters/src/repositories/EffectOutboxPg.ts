/** The outbox of domain effects in `domain_effects`. */
import { EffectOutbox, type StoredEffect } from "@botfleet/application"
import { DomainEffect } from "@botfleet/domain"
import { Array as Arr, Effect, Layer, Option, Schema } from "effect"
import { SqlClient } from "effect/sql"
import { orDieSql } from "../postgres/sqlErrors.ts"

interface ClaimedRow {
  readonly id: bigint | number | string
  readonly payload: unknown
  readonly attempts: number
}

const encodeEffect = Schema.encodeEffect(DomainEffect)
const decodeEffect = Schema.decodeUnknownOption(DomainEffect)

export const layer: Layer.Layer<EffectOutbox, never, SqlClient.SqlClient> = Layer.effect(
  EffectOutbox,
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient

    const enqueue = Effect.fn("EffectOutbox.enqueue")(function* (effects: ReadonlyArray<DomainEffect>) {
      const rows: ReadonlyArray<{ readonly kind: string; readonly payload: string }> = yield* Effect.forEach(
        effects,
        (effect) =>
          Effect.map(encodeEffect(effect), (payload) => ({
            kind: effect._tag,
            payload: JSON.stringify(payload)
          }))
      ).pipe(orDieSql)
      if (!Arr.isReadonlyArrayNonEmpty(rows)) return
      yield* sql`INSERT INTO domain_effects ${sql.insert(rows)}`.pipe(orDieSql)
    })

    // Pushing next_attempt_at forward is the lease: the rows stay pending but
    // no other runner sees them as due until it runs out (a crash mid-effect
    // thus retries it). SKIP LOCKED lets concurrent runners take other rows.
    const claimDue = Effect.fn("EffectOutbox.claimDue")(function* (limit: number, leaseSeconds: number) {
      if (limit <= 0) return []
      const rows = yield* sql<ClaimedRow>`
        UPDATE domain_effects claimed
        SET next_attempt_at = now() + make_interval(secs => ${leaseSeconds})
        FROM (
          SELECT id FROM domain_effects
          WHERE status = 'pending' AND next_attempt_at <= now()
          ORDER BY id
          LIMIT ${Math.trunc(limit)}
          FOR UPDATE SKIP LOCKED
        ) due
        WHERE claimed.id = due.id
        RETURNING claimed.id, claimed.payload, claimed.attempts`.pipe(orDieSql)
      const claimed: Array<StoredEffect> = []
      for (const row of [...rows].sort((a, b) => Number(a.id) - Number(b.id))) {
        const id = Number(row.id)
        const effect = decodeEffect(row.payload)
        if (Option.isSome(effect)) {
          claimed.push({ id, effect: effect.value, attempts: row.attempts })
        } else {
          // A payload no runner can read would be claimed again forever: park it for admins.
          yield* markFailedNow(id, "stored payload is not a known domain effect")
        }
      }
      return claimed
    })

    const markDone = Effect.fn("EffectOutbox.markDone")(function* (id: number) {
      yield* sql`
        UPDATE domain_effects SET status = 'done', done_at = now()
        WHERE id = ${id} AND status = 'pending'`.pipe(orDieSql)
    })

    const markFailedNow = (id: number, error: string) =>
      sql`
        UPDATE domain_effects SET status = 'failed', attempts = attempts + 1, last_error = ${error}
        WHERE id = ${id} AND status = 'pending'`.pipe(orDieSql)

    // Only pending rows change: a late report must not reopen a finished effect.
    const markFailed = Effect.fn("EffectOutbox.markFailed")(function* (
      id: number,
      error: string,
      retryAt: Date | null
    ) {
      if (retryAt === null) return yield* markFailedNow(id, error)
      yield* sql`
        UPDATE domain_effects
        SET attempts = attempts + 1, last_error = ${error}, next_attempt_at = ${retryAt}
        WHERE id = ${id} AND status = 'pending'`.pipe(orDieSql)
    })

    return EffectOutbox.of({ enqueue, claimDue, markDone, markFailed })
  })
)
