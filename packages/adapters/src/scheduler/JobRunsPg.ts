/** Scheduler runs in `job_runs`; the (job, tick) primary key is the claim. */
import { JobRuns, Metrics } from "@botfleet/application"
import { Effect, Layer } from "effect"
import { SqlClient } from "effect/sql"

interface JobRunRow {
  readonly job: string
  readonly tick: Date
  readonly owner: string
  readonly started_at: Date
  readonly finished_at: Date | null
  readonly outcome: "running" | "ok" | "failed"
  readonly duration_ms: number | null
  readonly detail: string | null
}

export const layer: Layer.Layer<JobRuns, never, SqlClient.SqlClient> = Layer.effect(
  JobRuns,
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient

    // The advisory lock makes "no run of this job still running" and the insert
    // one step across processes; the primary key alone already rules out a
    // tick running twice.
    const claim = Effect.fn("JobRuns.claim")(function* (
      job: string,
      tick: Date,
      owner: string,
      overlapSeconds: number
    ) {
      const rows = yield* sql
        .withTransaction(
          Effect.gen(function* () {
            yield* sql`SELECT pg_advisory_xact_lock(hashtext(${`botfleet.job.${job}`}))`
            return yield* sql<{ job: string }>`
              INSERT INTO job_runs (job, tick, owner)
              SELECT ${job}, ${tick}, ${owner}
              WHERE NOT EXISTS (
                SELECT 1 FROM job_runs
                WHERE job = ${job} AND outcome = 'running'
                  AND started_at > now() - make_interval(secs => ${overlapSeconds})
              )
              ON CONFLICT (job, tick) DO NOTHING
              RETURNING job`
          })
        )
        .pipe(Effect.orDie, Metrics.timedQuery("job_claim"))
      return rows.length === 1
    })

    const finish = Effect.fn("JobRuns.finish")(function* (
      job: string,
      tick: Date,
      outcome: "ok" | "failed",
      durationMs: number,
      detail: string | null
    ) {
      yield* sql`
        UPDATE job_runs
        SET outcome = ${outcome}, finished_at = now(), duration_ms = ${Math.round(durationMs)}, detail = ${detail}
        WHERE job = ${job} AND tick = ${tick}`.pipe(Effect.orDie)
    })

    const latest = sql<JobRunRow>`
      SELECT DISTINCT ON (job) job, tick, owner, started_at, finished_at, outcome, duration_ms, detail
      FROM job_runs ORDER BY job, tick DESC`.pipe(
      Effect.map((rows) =>
        rows.map((row) => ({
          job: row.job,
          tick: row.tick,
          owner: row.owner,
          startedAt: row.started_at,
          finishedAt: row.finished_at,
          outcome: row.outcome,
          durationMs: row.duration_ms,
          detail: row.detail
        }))
      ),
      Effect.orDie
    )

    const purge = Effect.fn("JobRuns.purge")(function* (before: Date) {
      const rows = yield* sql`DELETE FROM job_runs WHERE started_at < ${before} RETURNING 1`.pipe(
        Effect.orDie
      )
      return rows.length
    })

    return JobRuns.of({ claim, finish, latest, purge })
  })
)
