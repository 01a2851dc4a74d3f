/**
 * RateLimiter on PostgreSQL: fixed windows counted with one upsert,
 * so every process sharing the database shares the counts, and a restart
 * forgets nothing. Same answers as the in-memory RateLimiter.layer.
 */
import { Clock, Effect, Layer } from "effect"
import { SqlClient } from "effect/sql"
import { type Limit, RateLimiter, type RateState } from "./RateLimiter.ts"

const windowOf = (limit: Limit, now: number) => Math.floor(now / limit.windowMs) * limit.windowMs

const stateOf = (count: number, limit: Limit, start: number, now: number, counted: boolean): RateState => ({
  allowed: counted ? count <= limit.max : count < limit.max,
  limit: limit.max,
  remaining: Math.max(0, limit.max - count),
  resetSeconds: Math.max(1, Math.ceil((start + limit.windowMs - now) / 1000))
})

/** How often (in hits) rows of windows that ended over an hour ago are deleted. */
const SWEEP_EVERY = 1_000

export const layer: Layer.Layer<RateLimiter, never, SqlClient.SqlClient> = Layer.effect(
  RateLimiter,
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    let hits = 0

    const sweep = (now: number) =>
      sql`DELETE FROM api_rate_limits WHERE window_start < ${new Date(now - 3_600_000)}`.pipe(Effect.ignore)

    const hit = Effect.fn("RateLimiter.hit")(function* (key: string, limit: Limit) {
      const now = yield* Clock.currentTimeMillis
      const start = windowOf(limit, now)
      if (++hits % SWEEP_EVERY === 0) yield* sweep(now)
      const rows = yield* sql<{ count: number }>`
        INSERT INTO api_rate_limits (key, window_start, count) VALUES (${key}, ${new Date(start)}, 1)
        ON CONFLICT (key, window_start) DO UPDATE SET count = api_rate_limits.count + 1
        RETURNING count`.pipe(Effect.orDie)
      return stateOf(rows[0]?.count ?? 1, limit, start, now, true)
    })

    const check = Effect.fn("RateLimiter.check")(function* (key: string, limit: Limit) {
      const now = yield* Clock.currentTimeMillis
      const start = windowOf(limit, now)
      const rows = yield* sql<{ count: number }>`
        SELECT count FROM api_rate_limits WHERE key = ${key} AND window_start = ${new Date(start)}`.pipe(
        Effect.orDie
      )
      return stateOf(rows[0]?.count ?? 0, limit, start, now, false)
    })

    const reset = Effect.fn("RateLimiter.reset")(function* (key: string) {
      yield* sql`DELETE FROM api_rate_limits WHERE key = ${key}`.pipe(Effect.orDie)
    })

    return RateLimiter.of({ hit, check, reset })
  })
)
