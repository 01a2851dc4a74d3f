/**
 * The embedded PostgreSQL's superuser password is made per data folder, kept
 * in DATA_DIR/postgres-password (0600), reused on restart and written to no
 * log line; a folder made with the old built-in password keeps working, with
 * a warning. A wrong password is refused: the password is what guards it.
 */
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import path from "node:path"
import { assert, it } from "@effect/vitest"
import { Effect, Exit, Logger, Redacted, References, Scope } from "effect"
import { SqlClient } from "effect/sql"
import { clientLayer } from "../../src/postgres/Database.ts"
import { PASSWORD_FILE, startEmbeddedPostgres } from "../../src/postgres/EmbeddedPostgres.ts"

/** Every log line written while `effect` runs, message and annotations as text. */
const withLogs = <A, E>(effect: Effect.Effect<A, E>) =>
  Effect.gen(function* () {
    const lines: Array<string> = []
    const collect = Logger.make(({ fiber, message }) => {
      lines.push(JSON.stringify({ message, ...fiber.getRef(References.CurrentLogAnnotations) }))
    })
    const result = yield* effect.pipe(Effect.provide(Logger.layer([collect])))
    return { result, lines }
  })

/** Starts the folder's server, runs `SELECT 1` through its URL, stops it; the logs and the URL. */
const startAndQuery = (dataDir: string) =>
  withLogs(
    Effect.gen(function* () {
      const scope = yield* Scope.make()
      const server = yield* startEmbeddedPostgres({ dataDir }).pipe(Scope.provide(scope))
      const rows = yield* SqlClient.SqlClient.use((sql) => sql`SELECT 1 AS one`).pipe(
        Effect.provide(clientLayer(server.url, 1)),
        Effect.exit
      )
      // A wrong password is refused (the server trusts nobody on loopback).
      const wrong = yield* SqlClient.SqlClient.use((sql) => sql`SELECT 1`).pipe(
        Effect.provide(
          clientLayer(Redacted.make(Redacted.value(server.url).replace(/:[^:@/]+@/, ":not-the-password@")), 1)
        ),
        Effect.exit
      )
      yield* Scope.close(scope, Exit.void)
      return { url: Redacted.value(server.url), rows, wrong }
    })
  )

const newDataDir = (name: string) =>
  Effect.acquireRelease(
    Effect.sync(() => mkdtempSync(path.join(tmpdir(), `botfleet-pgpass-${name}-`))),
    (dir) => Effect.sync(() => rmSync(dir, { recursive: true, force: true }))
  )

const passwordOf = (dataDir: string) => readFileSync(path.join(dataDir, PASSWORD_FILE), "utf8").trim()

it.live(
  "two fresh folders get different passwords, kept 0600 and in no log line; a restart reuses it",
  () =>
    Effect.gen(function* () {
      const first = yield* newDataDir("first")
      const second = yield* newDataDir("second")

      const one = yield* startAndQuery(first)
      assert.isTrue(Exit.isSuccess(one.result.rows), String(one.result.rows))
      assert.isTrue(Exit.isFailure(one.result.wrong), "a wrong password is refused")
      const password = passwordOf(first)
      assert.match(password, /^[0-9a-f]{48}$/)
      assert.notStrictEqual(password, "botfleet-embedded")
      assert.include(one.result.url, `:${password}@`, "the server connects with the folder's password")
      if (process.platform !== "win32") {
        assert.strictEqual(statSync(path.join(first, PASSWORD_FILE)).mode & 0o777, 0o600)
      }
      assert.isTrue(
        one.lines.some((line) => line.includes("initialising embedded PostgreSQL")),
        "the logs were captured"
      )

      const two = yield* startAndQuery(second)
      assert.isTrue(Exit.isSuccess(two.result.rows))
      assert.notStrictEqual(passwordOf(second), password, "each folder has its own")

      const again = yield* startAndQuery(first)
      assert.isTrue(Exit.isSuccess(again.result.rows), String(again.result.rows))
      assert.strictEqual(passwordOf(first), password, "a restart reuses the folder's password")
      assert.isFalse(again.lines.some((line) => line.includes("initialising")))

      for (const line of [...one.lines, ...two.lines, ...again.lines]) {
        assert.notInclude(line, password)
        assert.notInclude(line, passwordOf(second))
      }
    }).pipe(Effect.scoped),
  180_000
)

it.live(
  "a folder made with the old built-in password keeps working, and the log says how to change it",
  () =>
    Effect.gen(function* () {
      const legacy = yield* newDataDir("legacy")
      // As older versions made it: initdb with the built-in password, and no password file.
      writeFileSync(path.join(legacy, PASSWORD_FILE), "botfleet-embedded\n", { mode: 0o600 })
      const made = yield* startAndQuery(legacy)
      assert.isTrue(Exit.isSuccess(made.result.rows))
      rmSync(path.join(legacy, PASSWORD_FILE))

      const later = yield* startAndQuery(legacy)
      assert.isTrue(Exit.isSuccess(later.result.rows), String(later.result.rows))
      const warning = later.lines.find((line) => line.includes("built-in password"))
      assert.isDefined(warning, later.lines.join("\n"))
      assert.include(warning!, "ALTER USER postgres PASSWORD")
      assert.notInclude(warning!, "botfleet-embedded")
      assert.throws(() => passwordOf(legacy), /ENOENT/, "no file is made up for a cluster that has none")
    }).pipe(Effect.scoped),
  180_000
)
