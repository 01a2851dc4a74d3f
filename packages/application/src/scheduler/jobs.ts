/**
 * The recurring jobs of the fleet: inbox retention, per-bot history retention
 * and the lease/backlog watchdog. Each does a bounded amount of work per tick so it never competes
 * with ingest for long.
 */
import { Clock, Effect } from "effect"
import { JobRuns, Maintenance } from "../ports/Scheduler.ts"
import type { Job } from "./Scheduler.ts"

export interface JobOptions {
  /** Done inbox updates older than this are deleted (INBOX_RETENTION_DAYS). */
  readonly inboxRetentionDays: number
  /** A pending update older than this is a backlog (QUEUE_MAX_AGE_SECONDS). */
  readonly queueMaxAgeSeconds: number
  /** How often the alert conditions are evaluated (ALERTS_EVERY_SECONDS). */
  readonly alertsEverySeconds?: number | undefined
}

const DAY_MS = 86_400_000
/** Small batches keep each DELETE's locks and WAL short, so webhook inserts are not held up. */
export const RETENTION_BATCH = 1000
/** At most this many batches per tick (100,000 rows a minute); the rest waits for the next tick. */
const RETENTION_MAX_BATCHES = 100
/** Job runs are kept this long for `GET /api/jobs` and post-mortems. */
const JOB_RUNS_KEEP_DAYS = 30

export const retentionJob = (options: JobOptions) =>
  Effect.gen(function* () {
    const maintenance = yield* Maintenance
    const runs = yield* JobRuns
    const run = Effect.gen(function* () {
      const now = yield* Clock.currentTimeMillis
      const before = new Date(now - options.inboxRetentionDays * DAY_MS)
      let deleted = 0
      for (let batch = 0; batch < RETENTION_MAX_BATCHES; batch++) {
        const count = yield* maintenance.purgeDoneUpdates(before, RETENTION_BATCH)
        deleted += count
        if (count < RETENTION_BATCH) break
        // A breath between batches: autovacuum and ingest get their turn.
        yield* Effect.sleep("20 millis")
      }
      const forgotten = yield* runs.purge(new Date(now - JOB_RUNS_KEEP_DAYS * DAY_MS))
      return `deleted ${deleted} done updates, ${forgotten} old job runs`
    })
    return { name: "retention", everySeconds: 60, timeoutSeconds: 300, run } satisfies Job
  })

/** Messages are deleted in batches this small: each is one short statement beside live traffic. */
export const HISTORY_BATCH = 500
/** At most this many batches per tick (50,000 messages a minute); the rest waits for the next tick. */
const HISTORY_MAX_BATCHES = 100

/**
 * Per bot with a `historyRetentionDays`: its messages older than that go,
 * oldest first; their tallies stay, so no stats number changes.
 */
export const historyRetentionJob = Effect.gen(function* () {
  const maintenance = yield* Maintenance
  const run = Effect.gen(function* () {
    const now = yield* Clock.currentTimeMillis
    const bots = yield* maintenance.retentionBots
    let deleted = 0
    let batches = 0
    for (const bot of bots) {
      const before = new Date(now - bot.days * DAY_MS)
      while (batches < HISTORY_MAX_BATCHES) {
        const count = yield* maintenance.purgeMessages(bot.botId, before, HISTORY_BATCH)
        deleted += count
        batches++
        if (count < HISTORY_BATCH) break
        yield* Effect.sleep("20 millis")
      }
    }
    return `deleted ${deleted} messages of ${bots.length} bots with a retention`
  })
  return { name: "history_retention", everySeconds: 60, timeoutSeconds: 300, run } satisfies Job
})

export const watchdogJob = (options: JobOptions) =>
  Effect.gen(function* () {
    const maintenance = yield* Maintenance
    const run = Effect.gen(function* () {
      // A live lease is renewed every few seconds; one a minute past its end belongs to a dead process.
      const cleared = yield* maintenance.clearExpiredLeases(60)
      const health = yield* maintenance.leaseHealth
      const backlog = health.oldestPendingAgeSeconds > options.queueMaxAgeSeconds
      if (backlog) {
        yield* Effect.logWarning("inbox backlog", {
          pending: health.pending,
          oldest_pending_age_seconds: Math.round(health.oldestPendingAgeSeconds),
          max_age_seconds: options.queueMaxAgeSeconds
        })
      }
      return `cleared ${cleared} expired leases; ${health.pending} pending, oldest ${Math.round(
        health.oldestPendingAgeSeconds
      )}s${backlog ? " (backlog)" : ""}`
    })
    return { name: "watchdog", everySeconds: 30, timeoutSeconds: 60, run } satisfies Job
  })

/** Every job the server schedules. */
export const fleetJobs = (options: JobOptions) =>
  Effect.all([retentionJob(options), historyRetentionJob, watchdogJob(options)])
