/**
 * Starts the real server (`src/main.ts`) as a child process, the way `npm start`
 * does, and reads its output: for tests of start-up, shutdown and crashes.
 */
import { type ChildProcess, spawn } from "node:child_process"
import { createServer } from "node:net"
import path from "node:path"
import { fileURLToPath } from "node:url"

const repoRoot = fileURLToPath(new URL("../../../../", import.meta.url))
const mainFile = path.join(repoRoot, "packages/server/src/main.ts")

export interface ServerProcess {
  readonly child: ChildProcess
  readonly baseUrl: string
  readonly port: number
  /** Everything written to stdout and stderr so far. */
  readonly output: () => string
  /** Resolves with the exit code (or signal) once the process has ended. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>
  readonly waitForOutput: (pattern: RegExp, timeoutMs?: number) => Promise<void>
}

export const freePort = (): Promise<number> =>
  new Promise((resolve) => {
    const server = createServer()
    server.listen(0, "127.0.0.1", () => {
      const address = server.address()
      const port = typeof address === "object" && address !== null ? address.port : 0
      server.close(() => resolve(port))
    })
  })

export const startServerProcess = async (env: Record<string, string>): Promise<ServerProcess> => {
  const port = env.PORT && /^\d+$/.test(env.PORT) ? Number(env.PORT) : await freePort()
  const child = spawn(process.execPath, [mainFile], {
    cwd: repoRoot,
    env: {
      PATH: process.env.PATH ?? "",
      HOME: process.env.HOME ?? "",
      HOST: "127.0.0.1",
      PORT: String(port),
      ...env
    },
    stdio: ["ignore", "pipe", "pipe"]
  })
  let output = ""
  const listeners = new Set<() => void>()
  const onData = (chunk: Buffer) => {
    output += chunk.toString("utf8")
    for (const listener of listeners) listener()
  }
  child.stdout?.on("data", onData)
  child.stderr?.on("data", onData)
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once("exit", (code, signal) => resolve({ code, signal }))
  )
  const waitForOutput = (pattern: RegExp, timeoutMs = 30_000) =>
    new Promise<void>((resolve, reject) => {
      const check = () => {
        if (pattern.test(output)) {
          cleanup()
          resolve()
        }
      }
      const timer = setTimeout(() => {
        cleanup()
        reject(new Error(`timed out waiting for ${pattern} in:\n${output}`))
      }, timeoutMs)
      const cleanup = () => {
        clearTimeout(timer)
        listeners.delete(check)
      }
      listeners.add(check)
      void exited.then(() => {
        if (!pattern.test(output)) {
          cleanup()
          reject(new Error(`process exited before ${pattern}:\n${output}`))
        }
      })
      check()
    })
  return { child, port, baseUrl: `http://127.0.0.1:${port}`, output: () => output, exited, waitForOutput }
}

/** Polls `/ready` until it answers 200 (or the process exits, or time runs out). */
export const waitUntilReady = async (server: ServerProcess, timeoutMs = 30_000): Promise<void> => {
  const started = Date.now()
  let exited = false
  void server.exited.then(() => {
    exited = true
  })
  while (Date.now() - started < timeoutMs && !exited) {
    const ready = await fetch(`${server.baseUrl}/ready`).then(
      (response) => response.ok,
      () => false
    )
    if (ready) return
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
  throw new Error(`server not ready within ${timeoutMs} ms:\n${server.output()}`)
}

/** Whether a process with this pid still runs. */
export const isRunning = (pid: number): boolean => {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}
