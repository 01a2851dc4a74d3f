/**
 * What the benchmark scenarios share: the fakes process, seeded bots, server
 * processes on the embedded PostgreSQL, webhook posts with bounded concurrency,
 * waiting for the fake Telegram's sends, and CPU/memory readings from /proc.
 * Used by bench/run.ts and bench/scaleOut.ts.
 */
import { type ChildProcess, spawn } from "node:child_process"
import { randomBytes, randomUUID } from "node:crypto"
import { createWriteStream, readFileSync } from "node:fs"
import { Agent, request as httpRequest } from "node:http"
import { createServer } from "node:net"
import path from "node:path"
import { createInterface } from "node:readline"
import { fileURLToPath } from "node:url"
import { SecretBoxAes } from "@botfleet/adapters"
import { Database } from "@botfleet/adapters/postgres"
import { SecretBox } from "@botfleet/application"
import { Effect, Layer, Redacted } from "effect"
import { SqlClient } from "effect/sql"

export const root = fileURLToPath(new URL("../", import.meta.url))
/** The same for seeding bots and for every server process, so servers can decrypt the seeded tokens. */
const SECRETS_KEY = randomBytes(32).toString("base64")

export type Row = Record<string, string | number>

export interface Fakes {
  readonly child: ChildProcess
  readonly telegramApiRoot: string
  readonly openaiBaseUrl: string
  readonly control: string
}

export interface BenchBot {
  readonly id: string
  readonly secret: string
  readonly token: string
}

export interface Server {
  readonly child: ChildProcess
  readonly baseUrl: string
}

/** [chatId, text, epoch ms when the fake Telegram received it] */
export type Sent = [chatId: number, text: string, time: number]

export interface PostItem {
  readonly baseUrl: string
  readonly bot: BenchBot
  readonly body: unknown
  readonly onSend?: () => void
}

export const percentile = (values: ReadonlyArray<number>, p: number) => {
  const sorted = [...values].sort((a, b) => a - b)
  return (
    Math.round((sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0) * 10) / 10
  )
}

export const freePort = () =>
  new Promise<number>((resolve) => {
    const server = createServer()
    server.listen(0, "127.0.0.1", () => {
      const address = server.address()
      server.close(() => resolve(typeof address === "object" && address ? address.port : 0))
    })
  })

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

/** Starts `node <file>` and returns the child. */
const node = (file: string, args: Array<string>, env: Record<string, string>): ChildProcess =>
  spawn(process.execPath, [path.join(root, file), ...args], {
    cwd: root,
    env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "", ...env },
    stdio: ["pipe", "pipe", "inherit"]
  })

export interface FakeOptions {
  /** One message a second per chat, no burst, drafts counted. */
  readonly strictTelegram?: boolean
  /** A streamed answer takes this long. */
  readonly streamMillis?: number
  /** The model allows this many requests a minute. */
  readonly requestsPerMinute?: number
  /** The model calls `current_time` once per reply when it is offered. */
  readonly toolStep?: boolean
}

export interface FakeStats {
  readonly floodRejections: number
  readonly sendMessageCalls: number
  readonly draftCalls: number
  readonly drafts: number
  readonly llm: { readonly answered: number; readonly refused: number }
  readonly llmPeakInFlight: number
  readonly llmInFlight: number
}

export const fakeStats = async (fakes: Fakes) =>
  (await (await fetch(`${fakes.control}/stats`)).json()) as FakeStats

/** Fake Telegram and OpenAI in a process of their own. */
export const startFakes = async (llmLatencyMs: number, options: FakeOptions = {}): Promise<Fakes> => {
  const child = node("bench/fakes.ts", [String(llmLatencyMs), JSON.stringify(options)], {})
  const line = await new Promise<string>((resolve) =>
    createInterface({ input: child.stdout! }).once("line", resolve)
  )
  return { child, ...(JSON.parse(line) as Omit<Fakes, "child">) }
}

/** Closes the fakes' stdin and waits for them to exit. */
export const stopFakes = async (fakes: Fakes) => {
  if (fakes.child.exitCode !== null) return
  const exited = new Promise((resolve) => fakes.child.once("exit", resolve))
  fakes.child.stdin?.end()
  await exited
}

let nextTelegramBotId = Math.floor(Math.random() * 1_000_000)

const sentMessages = async (fakes: Fakes) =>
  (await (await fetch(`${fakes.control}/sent`)).json()) as Array<Sent>

/**
 * Stores active bots straight in the database (the admin API is not needed to
 * measure the pipeline) and registers them at the fake Telegram.
 */
/** conversations: BENCH_STREAMING=off seeds bots that answer without drafts, to compare. */
const streamingBots = process.env.BENCH_STREAMING !== "off"

export const seedBots = (databaseUrl: string, count: number, fakes: Fakes) =>
  Effect.runPromise(
    Effect.gen(function* () {
      const sql = yield* SqlClient.SqlClient
      const box = yield* SecretBox
      const bots: Array<BenchBot> = []
      for (let i = 0; i < count; i++) {
        // Distinct per bot (telegram_bot_id is unique), also across calls in one run.
        const telegramId = 500_000_000 + nextTelegramBotId++
        const token = `${telegramId}:AA${randomBytes(24).toString("base64url").slice(0, 33)}`
        const bot = { id: randomUUID(), secret: randomBytes(16).toString("hex"), token }
        yield* sql`
          INSERT INTO bots (id, name, token_ciphertext, token_hint, telegram_bot_id, username, webhook_secret, active,
                            streaming)
          VALUES (${bot.id}, ${`bench-${bot.id.slice(0, 8)}`}, ${yield* box.encrypt(Redacted.make(token))}, 'x',
                  ${telegramId}, ${`bench_${i}_bot`}, ${bot.secret}, true, ${streamingBots})`
        yield* Effect.promise(() =>
          fetch(`${fakes.control}/register/${telegramId}/bench_${i}_bot/${encodeURIComponent(token)}`)
        )
        bots.push(bot)
      }
      return bots
    }).pipe(
      Effect.provide(
        Layer.mergeAll(
          Database.clientLayer(Redacted.make(databaseUrl), 4),
          SecretBoxAes.layer(Redacted.make(SECRETS_KEY))
        )
      ),
      Effect.orDie
    )
  )

/** Empties the tables a previous scenario filled. */
export const resetDatabase = (databaseUrl: string) =>
  Effect.runPromise(
    Effect.gen(function* () {
      const sql = yield* SqlClient.SqlClient
      yield* sql`TRUNCATE bots, tg_users, chat_leases, domain_effects CASCADE`
    }).pipe(Effect.provide(Database.clientLayer(Redacted.make(databaseUrl), 1)), Effect.orDie)
  )

/** A server process on the database; `extra` env wins (e.g. PUBLIC_URL, PIPELINE_CONCURRENCY). */
export const startServer = async (
  databaseUrl: string,
  fakes: Fakes,
  extra: Record<string, string> = {}
): Promise<Server> => {
  const port = await freePort()
  const baseUrl = `http://127.0.0.1:${port}`
  const env: Record<string, string> = {
    PORT: String(port),
    HOST: "127.0.0.1",
    DATABASE_URL: databaseUrl,
    PUBLIC_URL: baseUrl,
    TELEGRAM_API_ROOT: fakes.telegramApiRoot,
    OPENAI_BASE_URL: fakes.openaiBaseUrl,
    OPENAI_API_KEY: "sk-bench",
    SECRETS_KEY,
    LOG_LEVEL: "error",
    // BENCH_PROFILE=1 writes a CPU profile of the server to bench/results/.
    ...(process.env.BENCH_PROFILE
      ? { NODE_OPTIONS: `--cpu-prof --cpu-prof-dir=${path.join(root, "bench/results")}` }
      : {}),
    ...extra,
    // BENCH_SERVER_ENV='{"PIPELINE_CONCURRENCY":"32"}' tries a setting without editing a scenario.
    ...(process.env.BENCH_SERVER_ENV
      ? (JSON.parse(process.env.BENCH_SERVER_ENV) as Record<string, string>)
      : {})
  }
  // An empty value in `extra` means "unset" (PUBLIC_URL: "" makes every bot long-poll).
  for (const [key, value] of Object.entries(env)) if (value === "") delete env[key]
  const child = node("packages/server/src/main.ts", [], env)
  // BENCH_SERVER_LOG=<file> keeps the server's log (with a LOG_LEVEL in BENCH_SERVER_ENV).
  if (process.env.BENCH_SERVER_LOG) child.stdout?.pipe(createWriteStream(process.env.BENCH_SERVER_LOG))
  else child.stdout?.resume()
  for (let i = 0; i < 1200; i++) {
    const ready = await fetch(`${baseUrl}/ready`).then(
      (response) => response.ok,
      () => false
    )
    if (ready) return { child, baseUrl }
    if (child.exitCode !== null) break
    await sleep(50)
  }
  child.kill("SIGKILL")
  throw new Error("server did not become ready")
}

/** SIGTERM and wait for the exit (nothing to do if the child is gone already). */
export const stop = async (child: ChildProcess) => {
  if (child.exitCode !== null || child.signalCode !== null) return
  const exited = new Promise((resolve) => child.once("exit", resolve))
  child.kill("SIGTERM")
  await exited
}

let nextUpdateId = 1
/** A Telegram update with a private text message from `chatId`. */
export const update = (chatId: number, text: string) => ({
  update_id: nextUpdateId++,
  message: {
    message_id: nextUpdateId,
    date: Math.floor(Date.now() / 1000),
    chat: { id: chatId, type: "private" },
    from: { id: chatId, is_bot: false, first_name: "Bench" },
    text
  }
})

/**
 * Posts webhook bodies with at most `concurrency` requests open, each to its
 * item's server; returns each acknowledgement's latency.
 */
export const postAll = async (items: ReadonlyArray<PostItem>, concurrency: number) => {
  const latencies: Array<number> = []
  let next = 0
  let failures = 0
  // node:http on kept-alive sockets, not fetch: the driver shares the machine with the
  // server, and fetch costs it several times the CPU per request.
  const agent = new Agent({ keepAlive: true, maxSockets: concurrency })
  const post = (item: PostItem) =>
    new Promise<number>((resolve, reject) => {
      const body = JSON.stringify(item.body)
      const request = httpRequest(
        `${item.baseUrl}/telegram/webhook/${item.bot.id}`,
        {
          method: "POST",
          agent,
          headers: {
            "content-type": "application/json",
            "content-length": Buffer.byteLength(body),
            "x-telegram-bot-api-secret-token": item.bot.secret
          }
        },
        (response) => {
          response.resume()
          response.on("end", () => resolve(response.statusCode ?? 0))
          response.on("error", reject)
        }
      )
      request.on("error", reject)
      request.end(body)
    })
  const worker = async () => {
    while (next < items.length) {
      const item = items[next++]!
      item.onSend?.()
      const started = performance.now()
      const status = await post(item).catch(() => 0)
      if (status !== 200) failures++
      latencies.push(performance.now() - started)
    }
  }
  await Promise.all(Array.from({ length: concurrency }, worker))
  agent.destroy()
  return { latencies, failures }
}

/** Polls the fakes until `count` messages were sent (or time runs out); returns them. */
export const waitForSends = async (fakes: Fakes, count: number, timeoutMs: number) => {
  const started = Date.now()
  while (Date.now() - started < timeoutMs) {
    const sent = await sentMessages(fakes)
    if (sent.length >= count) return sent
    await sleep(100)
  }
  return sentMessages(fakes)
}

/** CPU seconds (user + system) a process has used so far (0 once it is gone). */
export const cpuSeconds = (pid: number | undefined): number => {
  if (pid === undefined) return 0
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ")
    return (Number(fields[11]) + Number(fields[12])) / 100
  } catch {
    return 0
  }
}

/** Reads a process's RSS every 100 ms until `stop()`; returns the highest seen, in MB. */
export const peakRss = (pid: number) => {
  let peak = rssMb(pid)
  const timer = setInterval(() => {
    try {
      peak = Math.max(peak, rssMb(pid))
    } catch {
      // The process is gone.
    }
  }, 100)
  return () => {
    clearInterval(timer)
    return peak
  }
}

/** Queues one update per item at the fake Telegram for getUpdates, all at once; returns when they are queued. */
export const pushUpdates = async (
  fakes: Fakes,
  items: ReadonlyArray<{ readonly token: string; readonly update: unknown }>
) => {
  const response = await fetch(`${fakes.control}/push`, { method: "POST", body: JSON.stringify(items) })
  if (!response.ok) throw new Error(`push failed: ${response.status}`)
  return (await response.json()) as { readonly time: number }
}

/** Resident memory of a process in MB. */
export const rssMb = (pid: number) => {
  const status = readFileSync(`/proc/${pid}/status`, "utf8")
  const kb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0)
  return Math.round(kb / 1024)
}

/** Bot API calls the fake Telegram has answered or is holding, per method. */
export const callCounts = async (fakes: Fakes) =>
  (await (await fetch(`${fakes.control}/calls`)).json()) as Readonly<Record<string, number>>
