/**
 * Storage the scheduler and its jobs need. Implementations fail only with
 * defects (database trouble); the scheduler logs them and tries next tick.
 */
import { Context, type Effect } from "effect"

export type JobOutcome = "running" | "ok" | "failed"

export interface JobRun {
  readonly job: string
  readonly tick: Date
  readonly owner: string
  readonly startedAt: Date
  readonly finishedAt: Date | null
  readonly outcome: JobOutcome
  readonly durationMs: number | null
  readonly detail: string | null
}

export class JobRuns extends Context.Service<
  JobRuns,
  {
    /**
     * Claims `tick` of `job` for `owner`: true for exactly one caller across
     * every process on the database. Refused too while an earlier run of the
     * job started less than `overlapSeconds` ago is still running.
     */
    readonly claim: (job: string, tick: Date, owner: string, overlapSeconds: number) => Effect.Effect<boolean>
    readonly finish: (
      job: string,
      tick: Date,
      outcome: "ok" | "failed",
      durationMs: number,
      detail: string | null
    ) => Effect.Effect<void>
    /** The most recent run of each job. */
    readonly latest: Effect.Effect<ReadonlyArray<JobRun>>
    /** Forgets runs that started before `before`. */
    readonly purge: (before: Date) => Effect.Effect<number>
  }
>()("@botfleet/application/JobRuns") {}

export interface LeaseHealth {
  /** Leases that ran out and were not taken over (their process died). */
  readonly expired: number
  /** Updates waiting in the inbox and the age of the oldest one. */
  readonly pending: number
  readonly oldestPendingAgeSeconds: number
}

export class Maintenance extends Context.Service<
  Maintenance,
  {
    /** Deletes up to `limit` done inbox updates processed before `before`; returns how many. */
    readonly purgeDoneUpdates: (before: Date, limit: number) => Effect.Effect<number>
    /** Deletes leases that ran out more than `graceSeconds` ago; returns how many. */
    readonly clearExpiredLeases: (graceSeconds: number) => Effect.Effect<number>
    readonly leaseHealth: Effect.Effect<LeaseHealth>
    /** Bots with a `historyRetentionDays`, and that number. */
    readonly retentionBots: Effect.Effect<ReadonlyArray<{ readonly botId: string; readonly days: number }>>
    /**
     * Deletes up to `limit` of the bot's messages created before `before`,
     * oldest first, keeping what each counted for in the stats (a tally row
     * written in the same statement); returns how many.
     */
    readonly purgeMessages: (botId: string, before: Date, limit: number) => Effect.Effect<number>
  }
>()("@botfleet/application/Maintenance") {}
