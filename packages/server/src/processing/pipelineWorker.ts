/**
 * The pipeline thread's entry (see PipelineThread.ts): the background work on
 * the database the HTTP thread opened, woken by its messages, answering its
 * metrics requests, draining when told to stop.
 */
import { parentPort } from "node:worker_threads"
import { SettingsVersion } from "@botfleet/application"
import { Cause, Context, Effect, Exit, Layer, Scope } from "effect"
import { PrometheusMetrics } from "effect/observability"
import { type AppConfigShape, loadAppConfig } from "../config/AppConfig.ts"
import { pipelineLayer } from "../layers.ts"
import * as Logging from "../observability/Logging.ts"
import { startupFailureLine } from "../startupFailure.ts"
import { Dispatcher } from "./Dispatcher.ts"
import type { FromPipeline, ToPipeline } from "./PipelineThread.ts"
import { lowerThreadPriority, PIPELINE_NICENESS } from "./threadPriority.ts"

const port = parentPort
if (port === null) throw new Error("pipelineWorker.ts runs as a worker thread of the server")
const send = (message: FromPipeline) => port.postMessage(message)

const program = Effect.fnUntraced(function* (config: AppConfigShape) {
  // Acknowledgements on the HTTP thread get the CPU first (threadPriority.ts).
  const priority = lowerThreadPriority(PIPELINE_NICENESS)
  yield* Effect.logInfo("pipeline thread starting", { cpu_priority: priority })
  const scope = yield* Scope.make()
  const context = yield* Layer.buildWithScope(pipelineLayer(config), scope)
  const dispatcher = Context.get(context, Dispatcher)
  // What the messages start runs with this thread's logger, like the background work.
  const run = Effect.runForkWith(yield* Effect.context<never>())
  // The webhook's bot cache is on the HTTP thread: it learns of edits from the updates leased here.
  yield* Context.get(context, SettingsVersion).watch((version) => send({ type: "settings", version }))
  let stopping = false
  port.on("message", (message: ToPipeline) => {
    switch (message.type) {
      case "wake":
        run(dispatcher.wake)
        return
      case "metrics":
        run(Effect.map(PrometheusMetrics.format(), (text) => send({ type: "metrics", id: message.id, text })))
        return
      case "drain":
        run(dispatcher.drain)
        return
      case "stop":
        if (stopping) return
        stopping = true
        // Closing the scope drains the dispatcher, then stops the rest; then this thread ends.
        run(Scope.close(scope, Exit.void).pipe(Effect.ensuring(Effect.sync(() => process.exit(0)))))
        return
    }
  })
  send({ type: "ready" })
})

Effect.runFork(
  Effect.gen(function* () {
    const config = yield* loadAppConfig
    yield* program(config).pipe(
      Effect.provide(Logging.layer({ format: config.logFormat, level: config.logLevel }))
    )
  }).pipe(
    Effect.catchCause((cause) =>
      Effect.sync(() => send({ type: "failed", message: startupFailureLine(Cause.squash(cause)) }))
    )
  )
)
