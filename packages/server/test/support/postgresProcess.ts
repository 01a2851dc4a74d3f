/**
 * Starts `embeddedPostgresMain.ts` as a child process: a persistent embedded
 * PostgreSQL on a given port and data folder that a test can stop (SIGTERM,
 * a fast shutdown that closes every connection) and start again on the same
 * port and data.
 */
import { spawn } from "node:child_process"
import { readFileSync } from "node:fs"
import path from "node:path"
import { fileURLToPath } from "node:url"
import { PASSWORD_FILE } from "@botfleet/adapters/postgres"

const repoRoot = fileURLToPath(new URL("../../../../", import.meta.url))
const mainFile = fileURLToPath(new URL("./embeddedPostgresMain.ts", import.meta.url))

export interface PostgresProcess {
  readonly url: string
  readonly port: number
  /** Stops PostgreSQL and waits until the process has ended. */
  readonly stop: () => Promise<void>
  readonly output: () => string
}

/** The embedded server's URL: its password is the data folder's own (EmbeddedPostgres.ts). */
export const embeddedUrl = (dataDir: string, port: number) => {
  const password = readFileSync(path.join(dataDir, PASSWORD_FILE), "utf8").trim()
  return `postgres://postgres:${encodeURIComponent(password)}@127.0.0.1:${port}/postgres`
}

export const startPostgresProcess = (
  dataDir: string,
  port: number,
  timeoutMs = 60_000
): Promise<PostgresProcess> =>
  new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [mainFile], {
      cwd: repoRoot,
      env: {
        PATH: process.env.PATH ?? "",
        HOME: process.env.HOME ?? "",
        PG_DATA_DIR: dataDir,
        PG_PORT: String(port)
      },
      stdio: ["ignore", "pipe", "pipe"]
    })
    let output = ""
    const exited = new Promise<void>((done) => child.once("exit", () => done()))
    const timer = setTimeout(() => {
      child.kill("SIGKILL")
      reject(new Error(`PostgreSQL not ready within ${timeoutMs} ms:\n${output}`))
    }, timeoutMs)
    const onData = (chunk: Buffer) => {
      output += chunk.toString("utf8")
      if (/^ready$/m.test(output)) {
        clearTimeout(timer)
        resolve({
          url: embeddedUrl(dataDir, port),
          port,
          output: () => output,
          stop: async () => {
            if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM")
            await exited
          }
        })
      }
    }
    child.stdout?.on("data", onData)
    child.stderr?.on("data", onData)
    void exited.then(() => {
      clearTimeout(timer)
      reject(new Error(`PostgreSQL process ended before it was ready:\n${output}`))
    })
  })
