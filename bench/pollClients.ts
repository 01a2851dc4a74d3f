/**
 * The long-poll client alone: N bots each polling in a loop against a server
 * (its own process) that holds every poll for a random time up to 50 s, as
 * Telegram holds an idle bot's. Each client runs in a process of its own, one
 * after the other, and reports that process's RSS and heap (after a GC) and
 * its CPU per poll: node:http on 64 kept-alive agents (the client polls used
 * before longPollHttp.ts) against longPollHttp.ts.
 *
 * `npm run bench -- poll-clients` (BENCH_POLL_BOTS, default 10,000).
 */
import { type ChildProcess, spawn } from "node:child_process"
import http from "node:http"
import path from "node:path"
import { fileURLToPath } from "node:url"
import type { Row } from "./harness.ts"

const self = fileURLToPath(import.meta.url)
const root = path.resolve(path.dirname(self), "..")
const HOLD_MILLIS = 50_000
const SETTLE_MILLIS = 10_000
const WINDOW_MILLIS = 30_000

/** The holding server: answers `{ ok: true, result: [] }` at a random moment within HOLD_MILLIS. */
const serve = () => {
  const server = http.createServer((request, response) => {
    request.resume()
    request.on("end", () => {
      const timer = setTimeout(() => {
        const body = '{"ok":true,"result":[]}'
        response.writeHead(200, { "content-type": "application/json", "content-length": body.length })
        response.end(body)
      }, Math.random() * HOLD_MILLIS)
      response.on("close", () => clearTimeout(timer))
    })
  })
  server.keepAliveTimeout = 120_000
  server.headersTimeout = 0
  server.requestTimeout = 0
  server.listen(0, "127.0.0.1", () => {
    process.stdout.write(`${(server.address() as { port: number }).port}\n`)
  })
}

type Poll = (token: string, signal: AbortSignal) => Promise<unknown>

/** What polls used before longPollHttp.ts: a JSON POST through node:http, a bot's polls on one of 64 agents. */
const nodeHttp = (apiRoot: string): Poll => {
  const agents = Array.from({ length: 64 }, () => new http.Agent({ keepAlive: true, maxSockets: Infinity }))
  const rootUrl = new URL(apiRoot)
  return (token, signal) =>
    new Promise((resolve, reject) => {
      let hash = 0
      for (let i = 0; i < token.length; i++) hash = (hash * 31 + token.charCodeAt(i)) | 0
      const body = JSON.stringify({ offset: 0, timeout: 50 })
      const request = http.request(new URL(`./bot${token}/getUpdates`, rootUrl), {
        method: "POST",
        agent: agents[(hash >>> 0) % 64],
        signal,
        headers: { "content-type": "application/json", "content-length": Buffer.byteLength(body) }
      })
      request.on("error", reject)
      request.on("response", (response) => {
        let text = ""
        response.setEncoding("utf8")
        response.on("data", (chunk: string) => {
          text += chunk
        })
        response.on("error", reject)
        response.on("close", () => reject(new Error("cut off")))
        response.on("end", () => resolve(JSON.parse(text)))
      })
      request.end(body)
    })
}

const client = async (which: string, count: number, port: number) => {
  const apiRoot = `http://127.0.0.1:${port}/`
  const poll: Poll =
    which === "node:http"
      ? nodeHttp(apiRoot)
      : await import("../packages/adapters/src/telegramGateway/longPollHttp.ts").then((module) => {
          const longPoll = module.make(apiRoot)
          return (token: string, signal: AbortSignal) =>
            longPoll.getUpdates(token, { offset: 0, timeout: 50 }, signal, HOLD_MILLIS + 10_000, null)
        })
  let polls = 0
  let errors = 0
  const loop = async (i: number) => {
    const token = `${100_000 + i}:AAHdqTcvCH1vGWJxfSeofSAs0K5PALD${i}`
    for (;;) {
      const controller = new AbortController()
      const timer = setTimeout(() => controller.abort(), HOLD_MILLIS + 10_000)
      try {
        await poll(token, controller.signal)
        polls++
      } catch {
        errors++
        await new Promise((resolve) => setTimeout(resolve, 1_000))
      }
      clearTimeout(timer)
    }
  }
  for (let i = 0; i < count; i++) {
    void loop(i)
    if (i % 500 === 499) await new Promise((resolve) => setTimeout(resolve, 10))
  }
  await new Promise((resolve) => setTimeout(resolve, SETTLE_MILLIS))
  const cpu = process.cpuUsage()
  const before = polls
  const started = performance.now()
  await new Promise((resolve) => setTimeout(resolve, WINDOW_MILLIS))
  const used = process.cpuUsage(cpu)
  const seconds = (performance.now() - started) / 1000
  const gc = (globalThis as { gc?: () => void }).gc
  gc?.()
  const memory = process.memoryUsage()
  const row: Row = {
    scenario: `poll clients: ${which}, ${count.toLocaleString("en")} bots`,
    "RSS MB": Math.round(memory.rss / 1e6),
    "heap used MB": Math.round(memory.heapUsed / 1e6),
    "polls /s": Math.round((polls - before) / seconds),
    "CPU %": Math.round(((used.user + used.system) / 1e4 / seconds) * 10) / 10,
    "CPU µs/poll": Math.round((used.user + used.system) / Math.max(1, polls - before)),
    errors
  }
  process.stdout.write(`${JSON.stringify(row)}\n`)
  process.exit(0)
}

const child = (args: Array<string>): ChildProcess =>
  spawn(process.execPath, ["--expose-gc", self, ...args], { cwd: root, stdio: ["ignore", "pipe", "inherit"] })

const firstLine = (process: ChildProcess) =>
  new Promise<string>((resolve, reject) => {
    let text = ""
    process.stdout?.on("data", (chunk: Buffer) => {
      text += chunk.toString()
      const end = text.indexOf("\n")
      if (end >= 0) resolve(text.slice(0, end))
    })
    process.on("exit", () => reject(new Error("exited without an answer")))
  })

/** Both clients, each in a fresh process against a fresh holding server. */
export const pollClients = async (): Promise<Array<Row>> => {
  const count = Number(process.env.BENCH_POLL_BOTS ?? 10_000)
  const rows: Array<Row> = []
  for (const which of ["node:http", "longPollHttp"]) {
    const server = child(["serve"])
    const port = Number(await firstLine(server))
    try {
      rows.push(JSON.parse(await firstLine(child(["client", which, String(count), String(port)]))) as Row)
    } finally {
      server.kill()
    }
  }
  return rows
}

const [role, ...rest] = process.argv.slice(2)
if (role === "serve") serve()
else if (role === "client") void client(rest[0] as string, Number(rest[1]), Number(rest[2]))
