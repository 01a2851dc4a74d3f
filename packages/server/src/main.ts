/**
 * The composition root: read the configuration, set up logging, launch the
 * server. Any start-up failure ends the process with one line and exit 1.
 */
import { NodeRuntime } from "@effect/platform-node"
import { Cause, Effect, Exit, Layer, Runtime } from "effect"
import { loadAppConfig } from "./config/AppConfig.ts"
import * as Logging from "./observability/Logging.ts"
import { serverLayer } from "./Server.ts"
import { startupFailureLine } from "./startupFailure.ts"

const program = Effect.gen(function* () {
  const config = yield* loadAppConfig
  return yield* Layer.launch(
    serverLayer(config, { pipeline: config.pipelineThread ? "thread" : "here" })
  ).pipe(
    Effect.onInterrupt(() => Effect.logInfo("stopped")),
    Effect.provide(Logging.layer({ format: config.logFormat, level: config.logLevel }))
  )
}).pipe(
  Effect.catch((error) =>
    Effect.sync(() => {
      process.stderr.write(`${startupFailureLine(error)}\n`)
      process.exitCode = 1
    })
  )
)

/** A stop by SIGINT or SIGTERM that drained cleanly is a success, not exit 130. */
const teardown: Runtime.Teardown = (exit, onExit) => {
  if (Exit.isFailure(exit) && Cause.hasInterruptsOnly(exit.cause)) return onExit(0)
  if (Exit.isSuccess(exit)) return onExit(typeof process.exitCode === "number" ? process.exitCode : 0)
  return Runtime.defaultTeardown(exit, onExit)
}

NodeRuntime.runMain(program, { teardown })
