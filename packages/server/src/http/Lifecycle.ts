import { Context, Effect, Layer } from "effect"

/**
 * Knows when the process started and whether it is shutting down, so `/ready`
 * can turn 503 the moment a SIGTERM arrives, while in-flight requests drain.
 */
export class Lifecycle extends Context.Service<
  Lifecycle,
  {
    readonly startedAt: number
    readonly isShuttingDown: () => boolean
  }
>()("@botfleet/server/Lifecycle") {
  static readonly layer = Layer.effect(
    Lifecycle,
    Effect.acquireRelease(
      Effect.sync(() => {
        const state = { shuttingDown: false }
        const onSignal = () => {
          state.shuttingDown = true
        }
        process.once("SIGTERM", onSignal)
        process.once("SIGINT", onSignal)
        return { state, onSignal }
      }),
      ({ onSignal }) =>
        Effect.sync(() => {
          process.off("SIGTERM", onSignal)
          process.off("SIGINT", onSignal)
        })
    ).pipe(
      Effect.map(({ state }) =>
        Lifecycle.of({ startedAt: Date.now(), isShuttingDown: () => state.shuttingDown })
      )
    )
  )
}
