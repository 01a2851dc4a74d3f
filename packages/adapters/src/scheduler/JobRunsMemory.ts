/**
 * The in-memory twin of JobRunsPg: one run per job and tick, refused while an
 * earlier run started less than `overlapSeconds` ago is still running. One
 * Ref.modify is the claim, as the primary key and the lock are in PostgreSQL.
 */
import { type JobRun, JobRuns } from "@botfleet/application"
import { Clock, Effect, Layer, Ref } from "effect"

const keyOf = (job: string, tick: Date) => `${job}|${tick.getTime()}`

export const layerMemory: Layer.Layer<JobRuns> = Layer.effect(
  JobRuns,
  Effect.gen(function* () {
    const runs = yield* Ref.make<ReadonlyMap<string, JobRun>>(new Map())

    const claim = (job: string, tick: Date, owner: string, overlapSeconds: number) =>
      Effect.flatMap(Clock.currentTimeMillis, (now) =>
        Ref.modify(runs, (current): [boolean, ReadonlyMap<string, JobRun>] => {
          const key = keyOf(job, tick)
          const busy = [...current.values()].some(
            (run) =>
              run.job === job &&
              run.outcome === "running" &&
              run.startedAt.getTime() > now - overlapSeconds * 1000
          )
          if (busy || current.has(key)) return [false, current]
          const run: JobRun = {
            job,
            tick,
            owner,
            startedAt: new Date(now),
            finishedAt: null,
            outcome: "running",
            durationMs: null,
            detail: null
          }
          return [true, new Map(current).set(key, run)]
        })
      )

    const finish = (
      job: string,
      tick: Date,
      outcome: "ok" | "failed",
      durationMs: number,
      detail: string | null
    ) =>
      Effect.flatMap(Clock.currentTimeMillis, (now) =>
        Ref.update(runs, (current) => {
          const key = keyOf(job, tick)
          const run = current.get(key)
          if (run === undefined) return current
          const done: JobRun = {
            ...run,
            outcome,
            finishedAt: new Date(now),
            durationMs: Math.round(durationMs),
            detail
          }
          return new Map(current).set(key, done)
        })
      )

    const latest = Effect.map(Ref.get(runs), (current) => {
      const newest = new Map<string, JobRun>()
      for (const run of current.values()) {
        const seen = newest.get(run.job)
        if (seen === undefined || seen.tick < run.tick) newest.set(run.job, run)
      }
      return [...newest.values()].sort((a, b) => (a.job < b.job ? -1 : 1))
    })

    const purge = (before: Date) =>
      Ref.modify(runs, (current): [number, ReadonlyMap<string, JobRun>] => {
        const kept = new Map([...current].filter(([, run]) => run.startedAt >= before))
        return [current.size - kept.size, kept]
      })

    return JobRuns.of({ claim, finish, latest, purge })
  })
)
