/**
 * `npm run migrate`: applies pending migrations to the configured database
 * (or the embedded one) and exits. The server does the same at start-up.
 */
import { Database } from "@botfleet/adapters/postgres"
import { NodeRuntime } from "@effect/platform-node"
import { Effect, Layer } from "effect"
import { loadAppConfig } from "./config/AppConfig.ts"
import * as Logging from "./observability/Logging.ts"
import { startupFailureLine } from "./startupFailure.ts"

const program = Effect.gen(function* () {
  const config = yield* loadAppConfig
  yield* Layer.build(Database.layer({ url: config.databaseUrl, dataDir: config.dataDir })).pipe(
    Effect.andThen(Effect.logInfo("migrations are up to date")),
    Effect.scoped,
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

NodeRuntime.runMain(program)
