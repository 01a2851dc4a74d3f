/**
 * Recurring jobs, durable in PostgreSQL. Time is cut into ticks of each job's
 * period (aligned to the Unix epoch, so a daily job's tick is midnight UTC);
 * whichever process claims a tick first (`JobRuns.claim`) runs it, the others
 * skip it. A restart loses nothing: a tick not yet claimed runs when the next
 * process looks.
 */
import { Cause, Clock, Context, Duration, Effect, Exit, Layer } from "effect"
import * as Metrics from "../observability/metrics.ts"
import { type JobRun, JobRuns } from "../ports/Scheduler.ts"

export interface Job {
  readonly name: string
  readonly everySeconds: number
  /** A run longer than this is stopped and recorded as failed; also how long a crashed run blocks the next. */
  readonly timeoutSeconds: number
  /** Does the work; the string says what it did ("deleted 1000 updates"). */
  readonly run: Effect.Effect<string, unknown>
}

export interface JobStatus {
  readonly name: string
  readonly everySeconds: number
  readonly lastRun: JobRun | null
  readonly nextTick: Date
}

/** The start of the tick `now` falls in. */
export const tickOf = (now: number, everySeconds: number): Date => {
  const period = everySeconds * 1000
  return new Date(Math.floor(now / period) * period)
}

export class Scheduler extends Context.Service<
  Scheduler,
  {
    /** Claims and runs every job whose current tick nobody has claimed; returns the jobs it ran. */
    readonly runDue: Effect.Effect<ReadonlyArray<string>>
    readonly status: Effect.Effect<ReadonlyArray<JobStatus>>
  }
>()("@botfleet/application/Scheduler") {
  /** A scheduler for `jobs`, claiming ticks as `owner` (unique per process). */
  static readonly make = (jobs: ReadonlyArray<Job>, owner: string) =>
    Effect.gen(function* () {
      const runs = yield* JobRuns

      const runJob = Effect.fn("Scheduler.runJob")(function* (job: Job, tick: Date) {
        yield* Effect.annotateCurrentSpan({ "job.name": job.name, "job.tick": tick.toISOString() })
        const started = yield* Clock.currentTimeMillis
        const exit = yield* job.run.pipe(Effect.timeout(Duration.seconds(job.timeoutSeconds)), Effect.exit)
        const durationMs = (yield* Clock.currentTimeMillis) - started
        const ok = Exit.isSuccess(exit)
        const detail = ok ? exit.value : Cause.pretty(exit.cause).slice(0, 2000)
        yield* runs.finish(job.name, tick, ok ? "ok" : "failed", durationMs, detail)
        yield* Metrics.count(Metrics.schedulerJobRuns, { job: job.name, outcome: ok ? "ok" : "failed" })
        yield* Metrics.observe(Metrics.schedulerJobDuration, { job: job.name }, durationMs / 1000)
        if (ok) {
          yield* Metrics.set(Metrics.schedulerLastSuccess, { job: job.name }, (started + durationMs) / 1000)
          yield* Effect.logDebug("job done", { job: job.name, duration_ms: durationMs, detail })
        } else {
          yield* Effect.logWarning("job failed", { job: job.name, duration_ms: durationMs, error: detail })
        }
      })

      const runDue = Effect.gen(function* () {
        const now = yield* Clock.currentTimeMillis
        const ran: Array<string> = []
        for (const job of jobs) {
          const tick = tickOf(now, job.everySeconds)
          if (yield* runs.claim(job.name, tick, owner, job.timeoutSeconds)) {
            yield* runJob(job, tick)
            ran.push(job.name)
          }
        }
        return ran
      })

      const status = Effect.gen(function* () {
        const now = yield* Clock.currentTimeMillis
        const latest = yield* runs.latest
        return jobs.map((job) => ({
          name: job.name,
          everySeconds: job.everySeconds,
          lastRun: latest.find((run) => run.job === job.name) ?? null,
          nextTick: new Date(tickOf(now, job.everySeconds).getTime() + job.everySeconds * 1000)
        }))
      })

      return Scheduler.of({ runDue, status })
    })

  static readonly layer = <R>(jobs: Effect.Effect<ReadonlyArray<Job>, never, R>, owner: string) =>
    Layer.effect(
      Scheduler,
      Effect.flatMap(jobs, (list) => Scheduler.make(list, owner))
    )
}
