/**
 * Starts due domain effects (webhook changes, admin messages, alerts) every
 * second; they run in the runner's lanes while the loop looks for more.
 */
import { EffectRunner } from "@botfleet/application"
import { Effect, Layer } from "effect"

export const EffectRunnerLoop = Layer.effectDiscard(
  Effect.gen(function* () {
    const runner = yield* EffectRunner
    const tick = runner.dispatchDue(50).pipe(
      // A full batch: more may be due, go again without waiting.
      Effect.flatMap((handled) => (handled >= 50 ? Effect.void : Effect.sleep("1 second"))),
      Effect.catchCause((cause) =>
        Effect.logError("effect runner failed", cause).pipe(Effect.andThen(Effect.sleep("5 seconds")))
      )
    )
    yield* Effect.forkScoped(Effect.forever(tick))
  })
)
