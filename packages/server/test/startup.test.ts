/**
 * Start-up and shutdown of the real process, as a new user meets them.
 */

import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import path from "node:path"
import { Database } from "@botfleet/adapters/postgres"
import { serverUrl, TestDatabase } from "@botfleet/testing"
import { afterAll, assert, describe, it } from "@effect/vitest"
import { Effect, Redacted } from "effect"
import { isRunning, startServerProcess } from "./support/serverProcess.ts"

const dataDirs: Array<string> = []
const newDataDir = () => {
  const dir = mkdtempSync(path.join(tmpdir(), "botfleet-start-"))
  dataDirs.push(dir)
  return dir
}
afterAll(() => {
  for (const dir of dataDirs) rmSync(dir, { recursive: true, force: true })
})

const expectOneLineFailure = async (env: Record<string, string>, expected: RegExp) => {
  const server = await startServerProcess({ DATA_DIR: newDataDir(), ...env })
  const { code } = await server.exited
  const lines = server
    .output()
    .split("\n")
    .filter((line) => line.trim() !== "")
  const last = lines.at(-1) ?? ""
  assert.strictEqual(code, 1, server.output())
  assert.match(last, expected)
  assert.notMatch(server.output(), /\n\s+at /, "no stack trace")
  return server.output()
}

describe("start-up failures", () => {
  it("PORT=abc: one line naming the variable, exit 1", async () => {
    await expectOneLineFailure(
      { PORT: "abc" },
      /^botfleet: invalid configuration: PORT: expected a port number/
    )
  })

  it("a malformed DATABASE_URL: one line, and its value is not echoed", async () => {
    const output = await expectOneLineFailure(
      { DATABASE_URL: "mysql://root:hunter2@db/x" },
      /^botfleet: invalid configuration: DATABASE_URL: expected a URL like postgres:/
    )
    assert.notInclude(output, "hunter2")
  })

  it("an unreachable database: one line, exit 1, password not echoed", async () => {
    const output = await expectOneLineFailure(
      { DATABASE_URL: "postgres://botfleet:s3cret-pw@127.0.0.1:1/botfleet" },
      /^botfleet: cannot start: database unreachable/
    )
    assert.notInclude(output, "s3cret-pw")
  })
})

describe("embedded database", () => {
  it("serves /health, names the embedded database, stops cleanly and keeps data", async () => {
    const dataDir = newDataDir()
    const first = await startServerProcess({ DATA_DIR: dataDir })
    await first.waitForOutput(/Listening on/)
    const health = await fetch(`${first.baseUrl}/health`)
    assert.strictEqual(health.status, 200)
    const body = (await health.json()) as { status: string; version: string; uptimeSeconds: number }
    assert.strictEqual(body.status, "ok")
    assert.match(body.version, /^\d+\.\d+\.\d+/)
    const db = (await (await fetch(`${first.baseUrl}/health/db`)).json()) as {
      status: string
      database: { kind: string }
      roundTripMs: number
    }
    assert.strictEqual(db.status, "ok")
    assert.strictEqual(db.database.kind, "embedded")
    assert.isAbove(db.roundTripMs, 0)
    assert.strictEqual((await fetch(`${first.baseUrl}/ready`)).status, 200)

    // Acknowledgements first: the pipeline thread, and it alone, runs at a lower CPU priority.
    if (process.platform === "linux") {
      await first.waitForOutput(/pipeline thread starting/)
      assert.match(first.output(), /"cpu_priority":"nice 10"/)
      const pid = first.child.pid!
      const niceness = (thread: string) => {
        const stat = readFileSync(`/proc/${pid}/task/${thread}/stat`, "utf8")
        return Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[16])
      }
      const threads = readdirSync(`/proc/${pid}/task`)
      assert.strictEqual(niceness(String(pid)), 0, "the HTTP thread keeps its priority")
      assert.strictEqual(threads.filter((thread) => niceness(thread) === 10).length, 1)
    }

    const postgresPid = Number(
      readFileSync(path.join(dataDir, "postgres", "postmaster.pid"), "utf8").split("\n")[0]
    )
    assert.isTrue(isRunning(postgresPid))
    first.child.kill("SIGINT")
    const { code } = await first.exited
    assert.strictEqual(code, 0, first.output())
    assert.isFalse(isRunning(postgresPid), "no postgres left behind")
    assert.isFalse(existsSync(path.join(dataDir, "postgres", "postmaster.pid")))

    // Same folder again: no new initialisation, the migrations are already there.
    const second = await startServerProcess({ DATA_DIR: dataDir })
    await second.waitForOutput(/Listening on/)
    assert.notInclude(second.output(), "initialising embedded PostgreSQL")
    assert.strictEqual((await fetch(`${second.baseUrl}/ready`)).status, 200)
    second.child.kill("SIGTERM")
    assert.strictEqual((await second.exited).code, 0)
  })

  it("a second process on the same DATA_DIR is refused without harming the first", async () => {
    const dataDir = newDataDir()
    const first = await startServerProcess({ DATA_DIR: dataDir })
    await first.waitForOutput(/Listening on/)
    await expectOneLineFailure(
      { DATA_DIR: dataDir },
      /another process \(pid \d+\) is using the embedded database/
    )
    assert.strictEqual((await fetch(`${first.baseUrl}/health/db`)).status, 200)
    first.child.kill("SIGTERM")
    await first.exited
  })
})

describe("external database", () => {
  it.effect("with DATABASE_URL no embedded server is started", () =>
    Effect.gen(function* () {
      const database = yield* TestDatabase.TestDatabase
      const dataDir = newDataDir()
      const server = yield* Effect.promise(() =>
        startServerProcess({ DATA_DIR: dataDir, DATABASE_URL: Redacted.value(database.url) })
      )
      yield* Effect.promise(() => server.waitForOutput(/Listening on/))
      const db = (yield* Effect.promise(() =>
        fetch(`${server.baseUrl}/health/db`).then((r) => r.json())
      )) as {
        database: { kind: string }
      }
      // Which database it is stays out of an open endpoint (healthDb.test.ts).
      assert.deepStrictEqual(db.database, { kind: "external" })
      assert.isFalse(existsSync(path.join(dataDir, "postgres")), "no embedded cluster was created")
      server.child.kill("SIGTERM")
      assert.strictEqual((yield* Effect.promise(() => server.exited)).code, 0)
    }).pipe(Effect.provide(TestDatabase.layer(serverUrl(), Database.layerAt)), Effect.scoped)
  )
})
