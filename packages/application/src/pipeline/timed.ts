import { Clock, Effect } from "effect"
import * as Metrics from "../observability/metrics.ts"

/** Records how long a pipeline step took (pipeline_step_duration_seconds{step}). */
export const timed = <A, E, R>(step: string, effect: Effect.Effect<A, E, R>) =>
  Effect.gen(function* () {
    const started = yield* Clock.currentTimeMillis
    const result = yield* effect
    yield* Metrics.observe(
      Metrics.pipelineStepDuration,
      { step },
      ((yield* Clock.currentTimeMillis) - started) / 1000
    )
    return result
  })
