/**
 * The README's start command from a private (0700) folder, as root and as a
 * normal user: a clone in root's home or a `mktemp -d` folder must just work.
 * The project is copied there with hard links (fast, no extra space), then
 * `npm start` runs in it and is stopped with Ctrl-C (SIGINT to its group).
 */
import { type ChildProcess, execFileSync, spawn } from "node:child_process"
import { chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import path from "node:path"
import { fileURLToPath } from "node:url"
import { afterAll, assert, describe, it } from "@effect/vitest"
import { freePort, isRunning } from "./support/serverProcess.ts"

const repoRoot = fileURLToPath(new URL("../../../", import.meta.url))
const isRoot = process.getuid?.() === 0
const folders: Array<string> = []
afterAll(() => {
  for (const folder of folders) rmSync(folder, { recursive: true, force: true })
})

/** A 0700 folder holding a copy of the project, owned by `owner`. */
const privateCopy = (owner?: { uid: number; gid: number }) => {
  const folder = mkdtempSync(path.join(tmpdir(), "botfleet-private-"))
  folders.push(folder)
  const project = path.join(folder, "botfleet")
  mkdirSync(project)
  for (const entry of [
    "package.json",
    "package-lock.json",
    "tsconfig.json",
    "packages",
    "migrations",
    "node_modules"
  ]) {
    const from = path.join(repoRoot, entry)
    try {
      execFileSync("cp", ["-al", from, project], { stdio: "ignore" })
    } catch {
      execFileSync("cp", ["-a", from, project], { stdio: "ignore" }) // another file system
    }
  }
  const home = path.join(folder, "home")
  mkdirSync(home)
  if (owner !== undefined) {
    for (const mine of [folder, home, project]) chownSync(mine, owner.uid, owner.gid)
  }
  chmodSync(folder, 0o700)
  return { folder, project, home }
}

interface Started {
  readonly child: ChildProcess
  readonly baseUrl: string
  readonly output: () => string
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>
}

/** `npm start` in `cwd`, in its own process group like a terminal's foreground job. */
const npmStart = async (
  cwd: string,
  home: string,
  owner?: { uid: number; gid: number }
): Promise<Started> => {
  const port = await freePort()
  const child = spawn("npm", ["start", "--silent"], {
    cwd,
    detached: true,
    env: { PATH: process.env.PATH ?? "", HOME: home, HOST: "127.0.0.1", PORT: String(port) },
    stdio: ["ignore", "pipe", "pipe"],
    ...(owner ?? {})
  })
  let output = ""
  child.stdout?.on("data", (chunk: Buffer) => {
    output += chunk.toString("utf8")
  })
  child.stderr?.on("data", (chunk: Buffer) => {
    output += chunk.toString("utf8")
  })
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once("exit", (code, signal) => resolve({ code, signal }))
  )
  return { child, baseUrl: `http://127.0.0.1:${port}`, output: () => output, exited }
}

const waitForHealth = async (started: Started) => {
  const deadline = Date.now() + 60_000
  while (Date.now() < deadline) {
    const ok = await fetch(`${started.baseUrl}/ready`).then(
      (response) => response.ok,
      () => false
    )
    if (ok) return
    if (started.child.exitCode !== null) break
    await new Promise((resolve) => setTimeout(resolve, 200))
  }
  assert.fail(`not ready:\n${started.output()}`)
}

const waitUntil = async (done: () => boolean) => {
  for (let i = 0; i < 100 && !done(); i++) await new Promise((resolve) => setTimeout(resolve, 100))
}

/** The embedded cluster the server reports, and its postmaster pid. */
const clusterPid = (output: string) => {
  const match = /"message":"embedded PostgreSQL is running".*?"dataDir":"([^"]+)"/.exec(output)
  assert.isNotNull(match, output)
  const pidFile = path.join(match?.[1] ?? "", "postmaster.pid")
  return { dir: match?.[1] ?? "", pid: Number(readFileSync(pidFile, "utf8").split("\n")[0]) }
}

const startAnswerAndStop = async (project: string, home: string, owner?: { uid: number; gid: number }) => {
  const started = await npmStart(project, home, owner)
  await waitForHealth(started)
  assert.strictEqual((await fetch(`${started.baseUrl}/health`)).status, 200)
  const db = (await (await fetch(`${started.baseUrl}/health/db`)).json()) as {
    status: string
    database: { kind: string }
  }
  assert.deepInclude(db, { status: "ok" })
  assert.strictEqual(db.database.kind, "embedded")
  const cluster = clusterPid(started.output())
  assert.isTrue(isRunning(cluster.pid))
  // Ctrl-C: the terminal signals the whole foreground group.
  process.kill(-(started.child.pid ?? 0), "SIGINT")
  // npm itself ends by the signal, as in a terminal; the server under it drains and exits 0.
  const exit = await started.exited
  assert.isTrue(exit.code === 0 || exit.signal === "SIGINT", started.output())
  await waitUntil(() => started.output().includes('"message":"stopped"'))
  assert.include(started.output(), '"message":"stopped"')
  await waitUntil(() => !isRunning(cluster.pid))
  assert.isFalse(isRunning(cluster.pid), "no PostgreSQL left behind")
  assert.notMatch(started.output(), /\n\s+at /, "no stack trace")
  return { output: started.output(), cluster }
}

describe("npm start from a private folder", () => {
  it.runIf(isRoot)(
    "as root: data that the postgres user cannot reach moves to /var/lib/botfleet, and the log says so",
    async () => {
      const { project, home } = privateCopy()
      const { output, cluster } = await startAnswerAndStop(project, home)
      assert.match(output, /embedded PostgreSQL data is in \/var\/lib\/botfleet\/data\/.*not under DATA_DIR/)
      assert.match(output, /cannot enter .*\.data \(a parent folder is private\)/)
      assert.isTrue(cluster.dir.startsWith("/var/lib/botfleet/data/"))
      const pointer = readFileSync(path.join(project, ".data", "postgres-location.txt"), "utf8")
      assert.include(pointer, cluster.dir)
      // A second start finds the same data (no second initialisation).
      const again = await startAnswerAndStop(project, home)
      assert.strictEqual(again.cluster.dir, cluster.dir)
      assert.notInclude(again.output, "initialising embedded PostgreSQL")
      rmSync(path.dirname(cluster.dir), { recursive: true, force: true })
    },
    180_000
  )

  it("as a normal user: the data stays under ./.data", async () => {
    const nobody = isRoot ? { uid: 65534, gid: 65534 } : undefined
    const { project, home } = privateCopy(nobody)
    const { output, cluster } = await startAnswerAndStop(project, home, nobody)
    assert.strictEqual(cluster.dir, path.join(project, ".data", "postgres"))
    assert.notInclude(output, "not under DATA_DIR")
    assert.isTrue(existsSync(path.join(project, ".data", "secrets.key")))
  }, 180_000)

  it("a DATA_DIR that cannot be created: one line, exit 1", async () => {
    const { project, home } = privateCopy()
    const blocked = path.join(project, "package.json", "data") // a path under a file
    const failing = spawn("npm", ["start", "--silent"], {
      cwd: project,
      env: { PATH: process.env.PATH ?? "", HOME: home, DATA_DIR: blocked, PORT: String(await freePort()) },
      stdio: ["ignore", "pipe", "pipe"]
    })
    let output = ""
    failing.stdout.on("data", (chunk: Buffer) => {
      output += chunk.toString("utf8")
    })
    failing.stderr.on("data", (chunk: Buffer) => {
      output += chunk.toString("utf8")
    })
    const code = await new Promise<number | null>((resolve) => failing.once("exit", resolve))
    assert.strictEqual(code, 1, output)
    const lines = output.split("\n").filter((line) => line.trim() !== "")
    assert.match(lines.at(-1) ?? "", /^botfleet: cannot start: could not create .*package\.json\/data/)
    assert.notMatch(output, /\n\s+at /, "no stack trace")
  }, 60_000)
})
