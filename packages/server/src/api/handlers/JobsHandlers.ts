/** `GET /api/jobs`: each scheduled job with its last run, from any process. */
import { type JobStatus, Scheduler } from "@botfleet/application"
import { Effect } from "effect"
import { HttpApiBuilder } from "effect/http-api"
import { Api } from "../Api.ts"
import type { JobView } from "../schemas.ts"

const iso = (date: Date | null) => (date === null ? null : date.toISOString())

export const toJobView = (job: JobStatus): JobView => ({
  name: job.name,
  everySeconds: job.everySeconds,
  lastRun:
    job.lastRun === null
      ? null
      : {
          tick: job.lastRun.tick.toISOString(),
          owner: job.lastRun.owner,
          startedAt: job.lastRun.startedAt.toISOString(),
          finishedAt: iso(job.lastRun.finishedAt),
          outcome: job.lastRun.outcome,
          durationMs: job.lastRun.durationMs,
          detail: job.lastRun.detail
        },
  nextTick: job.nextTick.toISOString()
})

export const JobsHandlers = HttpApiBuilder.group(
  Api,
  "jobs",
  Effect.fn(function* (handlers) {
    const scheduler = yield* Scheduler
    return handlers.handle("list", () =>
      Effect.map(scheduler.status, (jobs) => ({ items: jobs.map(toJobView) }))
    )
  })
)
