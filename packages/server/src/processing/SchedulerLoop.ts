/**
 * The scheduler of this process: every few seconds it claims and runs the
 * jobs whose current tick no process has run yet (see `Scheduler`).
 */
import { hostname } from "node:os"
import { alertsJob, digestJob, fleetJobs, type JobOptions, Scheduler } from "@botfleet/application"
import { Effect, Layer } from "effect"

/** How often a process looks for due ticks; the shortest job period is 30 s. */
const LOOK_EVERY = "5 seconds"

export const schedulerLayer = (options: JobOptions) =>
  Scheduler.layer(
    Effect.map(Effect.all([fleetJobs(options), alertsJob(options), digestJob]), ([fleet, alerts, digest]) => [
      ...fleet,
      alerts,
      digest
    ]),
    `${hostname()}:${process.pid}:${Math.random().toString(36).slice(2, 8)}`
  )

export const SchedulerLoop = Layer.effectDiscard(
  Effect.gen(function* () {
    const scheduler = yield* Scheduler
    const tick = scheduler.runDue.pipe(
      Effect.catchCause((cause) => Effect.logError("scheduler failed", cause)),
      Effect.andThen(Effect.sleep(LOOK_EVERY))
    )
    yield* Effect.forkScoped(Effect.forever(tick))
  })
)
