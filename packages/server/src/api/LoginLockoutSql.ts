/**
 * LoginLockout on PostgreSQL (table `login_failures`): an attempt is claimed
 * with one upsert that takes the row lock, so concurrent guesses from every
 * process are counted one after another and none slips past a lockout the
 * previous one started.
 */
import { Clock, Effect, Layer } from "effect"
import { SqlClient } from "effect/sql"
import { type LockoutPolicy, LoginLockout, lockoutMs } from "./LoginLockout.ts"

/** How often (in attempts) rows idle for a day are deleted. */
const SWEEP_EVERY = 1_000
const IDLE_MS = 24 * 60 * 60_000

const secondsUntil = (until: number, now: number) => Math.max(1, Math.ceil((until - now) / 1000))

export const layer: Layer.Layer<LoginLockout, never, SqlClient.SqlClient> = Layer.effect(
  LoginLockout,
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    let attempts = 0

    const sweep = (now: number) =>
      sql`DELETE FROM login_failures
          WHERE last_failed_at < ${new Date(now - IDLE_MS)}
            AND (locked_until IS NULL OR locked_until < ${new Date(now)})`.pipe(Effect.ignore)

    const attempt = Effect.fn("LoginLockout.attempt")(function* (key: string, policy: LockoutPolicy) {
      const now = yield* Clock.currentTimeMillis
      if (++attempts % SWEEP_EVERY === 0) yield* sweep(now)
      const at = new Date(now)
      const forgetBefore = new Date(now - policy.forgetMs)
      const firstLock = lockoutMs(policy, 1)
      // The failure count this attempt makes, written once per use below.
      const counted = sql`(CASE WHEN f.last_failed_at < ${forgetBefore} THEN 1 ELSE f.failures + 1 END)`
      const rows = yield* sql<{ failures: number; lockedUntil: Date | null }>`
        INSERT INTO login_failures AS f (key, failures, last_failed_at, locked_until)
        VALUES (${key}, 1, ${at}, ${firstLock > 0 ? new Date(now + firstLock) : null})
        ON CONFLICT (key) DO UPDATE SET
          failures = ${counted},
          last_failed_at = ${at},
          locked_until = CASE WHEN ${counted} >= ${policy.threshold}::int
            THEN ${at}::timestamptz + LEAST(
              ${policy.capMs}::float8,
              ${policy.baseMs}::float8 * power(2, LEAST(30, ${counted} - ${policy.threshold}::int))
            ) * interval '1 millisecond'
          END
        WHERE f.locked_until IS NULL OR f.locked_until <= ${at}
        RETURNING failures, locked_until AS "lockedUntil"`.pipe(Effect.orDie)
      const claimed = rows[0]
      if (claimed !== undefined) {
        return {
          allowed: true,
          limit: policy.threshold,
          remaining: Math.max(0, policy.threshold - claimed.failures),
          resetSeconds:
            claimed.lockedUntil === null
              ? secondsUntil(now + policy.forgetMs, now)
              : secondsUntil(new Date(claimed.lockedUntil).getTime(), now)
        }
      }
      const locked = yield* sql<{ lockedUntil: Date | null }>`
        SELECT locked_until AS "lockedUntil" FROM login_failures WHERE key = ${key}`.pipe(Effect.orDie)
      const until = locked[0]?.lockedUntil
      // Read now, not before the upsert: the lockout may have been set by a guess that waited less.
      const later = yield* Clock.currentTimeMillis
      return {
        allowed: false,
        limit: policy.threshold,
        remaining: 0,
        resetSeconds: secondsUntil(until == null ? later : new Date(until).getTime(), later)
      }
    })

    const clear = Effect.fn("LoginLockout.clear")(function* (key: string) {
      yield* sql`DELETE FROM login_failures WHERE key = ${key}`.pipe(Effect.orDie)
    })

    const forgive = Effect.fn("LoginLockout.forgive")(function* (key: string, policy: LockoutPolicy) {
      yield* sql`
        UPDATE login_failures SET
          failures = GREATEST(failures - 1, 0),
          locked_until = CASE WHEN failures - 1 >= ${policy.threshold}::int THEN locked_until END
        WHERE key = ${key}`.pipe(Effect.orDie)
    })

    return LoginLockout.of({ attempt, clear, forgive })
  })
)
