/**
 * An embedded PostgreSQL as a process of its own, for tests that stop and
 * start the database under a running server: `startEmbeddedPostgres` can run
 * only once per process (its signal-handler release throws the second time),
 * so each start is a new process. Reads PG_DATA_DIR and PG_PORT, prints
 * `ready` once it accepts connections, and stops PostgreSQL on SIGTERM.
 */
import { startEmbeddedPostgres } from "@botfleet/adapters/postgres"
import { NodeRuntime } from "@effect/platform-node"
import { Effect } from "effect"

const dataDir = process.env.PG_DATA_DIR
const port = Number(process.env.PG_PORT)
if (dataDir === undefined || !Number.isInteger(port)) throw new Error("PG_DATA_DIR and PG_PORT are required")

NodeRuntime.runMain(
  Effect.scoped(
    Effect.gen(function* () {
      yield* startEmbeddedPostgres({ dataDir, port })
      process.stdout.write("ready\n")
      return yield* Effect.never
    })
  )
)
