/**
 * The scheduler of this process: every few seconds it claims and runs the
 * jobs whose current tick no process has run yet (see `Scheduler`).
 */
import { hostname } from "node:os"
import {
  alertsJob,
  digestJob,
  fleetJobs,
  type JobOptions,
  knowledgeIndexingJob,
  Scheduler
} from "@botfleet/application"
import { Effect, Layer } from "effect"

/** How often a process looks for due ticks: every 5 s, or more often for a shorter alerts period. */
const lookEvery = (options: JobOptions) => Math.min(5, options.alertsEverySeconds ?? 5) * 1000

export const schedulerLayer = (options: JobOptions) =>
  Scheduler.layer(
    Effect.map(
      Effect.all([fleetJobs(options), alertsJob(options), digestJob, knowledgeIndexingJob]),
      ([fleet, alerts, digest, knowledge]) => [...fleet, alerts, digest, knowledge]
    ),
    `${hostname()}:${process.pid}:${Math.random().toString(36).slice(2, 8)}`
  )

export const schedulerLoop = (options: JobOptions) =>
  Layer.effectDiscard(
    Effect.gen(function* () {
      const scheduler = yield* Scheduler
      const tick = scheduler.runDue.pipe(
        Effect.catchCause((cause) => Effect.logError("scheduler failed", cause)),
        Effect.andThen(Effect.sleep(lookEvery(options)))
      )
      yield* Effect.forkScoped(Effect.forever(tick))
    })
  )
