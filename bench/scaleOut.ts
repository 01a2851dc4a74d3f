/**
 * Scale-out scenario: end-to-end replies/s with one server process, then with
 * two processes sharing the database (instant fakes, 100 bots x 10 chats x 3
 * messages, webhook posts spread round-robin over the processes' ports, each
 * chat's messages alternating between them). Self-contained: the small pieces
 * of bench/run.ts it needs are copied here as `ScaleOutHelpers`, so run.ts can
 * pass its own or use `makeHelpers()`.
 *
 *   const rows = await scaleOut(databaseUrl, makeHelpers())   // two rows: 1 and 2 processes
 *   const row = await scaleOutRun(databaseUrl, helpers, 2)    // one row
 */
import { type ChildProcess, spawn } from "node:child_process"
import { randomBytes, randomUUID } from "node:crypto"
import { readdirSync, readFileSync } from "node:fs"
import { createServer } from "node:net"
import path from "node:path"
import { createInterface } from "node:readline"
import { fileURLToPath } from "node:url"
import { SecretBoxAes } from "@botfleet/adapters"
import { Database } from "@botfleet/adapters/postgres"
import { SecretBox } from "@botfleet/application"
import { Effect, Layer, Redacted } from "effect"
import { SqlClient } from "effect/sql"

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

/** What the scenario needs from the harness. */
export interface ScaleOutHelpers {
  /** Fake Telegram and OpenAI in a process of their own. */
  readonly startFakes: (llmLatencyMs: number) => Promise<Fakes>
  readonly stopFakes: (fakes: Fakes) => Promise<void>
  /** Empties the tables a previous scenario filled. */
  readonly resetDatabase: (databaseUrl: string) => Promise<void>
  /** Active bots stored straight in the database and registered at the fake Telegram. */
  readonly seedBots: (databaseUrl: string, count: number, fakes: Fakes) => Promise<Array<BenchBot>>
  /** A server process on the database; `extra` env wins (e.g. PUBLIC_URL, PIPELINE_CONCURRENCY). */
  readonly startServer: (databaseUrl: string, fakes: Fakes, extra?: Record<string, string>) => Promise<Server>
  /** Posts with at most `concurrency` requests open; each item names its server. */
  readonly postAll: (
    items: ReadonlyArray<PostItem>,
    concurrency: number
  ) => Promise<{ latencies: Array<number>; failures: number }>
  /** Polls the fakes until `count` messages were sent (or time runs out); returns them. */
  readonly waitForSends: (fakes: Fakes, count: number, timeoutMs: number) => Promise<Array<Sent>>
  /** SIGTERM and wait for the exit. */
  readonly stop: (child: ChildProcess) => Promise<void>
}

const root = fileURLToPath(new URL("../", import.meta.url))

const percentile = (values: ReadonlyArray<number>, p: number) => {
  const sorted = [...values].sort((a, b) => a - b)
  return (
    Math.round((sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0) * 10) / 10
  )
}

const freePort = () =>
  new Promise<number>((resolve) => {
    const server = createServer()
    server.listen(0, "127.0.0.1", () => {
      const address = server.address()
      server.close(() => resolve(typeof address === "object" && address ? address.port : 0))
    })
  })

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

/** Starts `node --import tsx <file>` and returns the child. */
const node = (file: string, args: Array<string>, env: Record<string, string>): ChildProcess =>
  spawn(process.execPath, ["--import", "tsx", path.join(root, file), ...args], {
    cwd: root,
    env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "", ...env },
    stdio: ["pipe", "pipe", "inherit"]
  })

/** The helpers of bench/run.ts, copied; `secretsKey` must be the same for seeding and the servers. */
export const makeHelpers = (secretsKey = randomBytes(32).toString("base64")): ScaleOutHelpers => {
  const sentMessages = async (fakes: Fakes) =>
    (await (await fetch(`${fakes.control}/sent`)).json()) as Array<Sent>

  const startFakes = async (llmLatencyMs: number): Promise<Fakes> => {
    const child = node("bench/fakes.ts", [String(llmLatencyMs)], {})
    const line = await new Promise<string>((resolve) =>
      createInterface({ input: child.stdout! }).once("line", resolve)
    )
    return { child, ...(JSON.parse(line) as Omit<Fakes, "child">) }
  }

  const stop = async (child: ChildProcess) => {
    if (child.exitCode !== null || child.signalCode !== null) return
    const exited = new Promise((resolve) => child.once("exit", resolve))
    child.kill("SIGTERM")
    await exited
  }

  const stopFakes = async (fakes: Fakes) => {
    if (fakes.child.exitCode !== null) return
    const exited = new Promise((resolve) => fakes.child.once("exit", resolve))
    fakes.child.stdin?.end()
    await exited
  }

  const seedBots = (databaseUrl: string, count: number, fakes: Fakes) =>
    Effect.runPromise(
      Effect.gen(function* () {
        const sql = yield* SqlClient.SqlClient
        const box = yield* SecretBox
        const bots: Array<BenchBot> = []
        for (let i = 0; i < count; i++) {
          const telegramId = 500_000_000 + Math.floor(Math.random() * 400_000_000)
          const token = `${telegramId}:AA${randomBytes(24).toString("base64url").slice(0, 33)}`
          const bot = { id: randomUUID(), secret: randomBytes(16).toString("hex"), token }
          yield* sql`
            INSERT INTO bots (id, name, token_ciphertext, token_hint, telegram_bot_id, username, webhook_secret, active)
            VALUES (${bot.id}, ${`bench-${bot.id.slice(0, 8)}`}, ${yield* box.encrypt(Redacted.make(token))}, 'x',
                    ${telegramId}, ${`bench_${i}_bot`}, ${bot.secret}, true)`
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
            SecretBoxAes.layer(Redacted.make(secretsKey))
          )
        ),
        Effect.orDie
      )
    )

  const resetDatabase = (databaseUrl: string) =>
    Effect.runPromise(
      Effect.gen(function* () {
        const sql = yield* SqlClient.SqlClient
        yield* sql`TRUNCATE bots, tg_users, chat_leases, domain_effects CASCADE`
      }).pipe(Effect.provide(Database.clientLayer(Redacted.make(databaseUrl), 1)), Effect.orDie)
    )

  const startServer = async (
    databaseUrl: string,
    fakes: Fakes,
    extra: Record<string, string> = {}
  ): Promise<Server> => {
    const port = await freePort()
    const baseUrl = `http://127.0.0.1:${port}`
    const child = node("packages/server/src/main.ts", [], {
      PORT: String(port),
      HOST: "127.0.0.1",
      DATABASE_URL: databaseUrl,
      PUBLIC_URL: baseUrl,
      TELEGRAM_API_ROOT: fakes.telegramApiRoot,
      OPENAI_BASE_URL: fakes.openaiBaseUrl,
      OPENAI_API_KEY: "sk-bench",
      SECRETS_KEY: secretsKey,
      LOG_LEVEL: "error",
      ...extra
    })
    child.stdout?.resume()
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

  const postAll = async (items: ReadonlyArray<PostItem>, concurrency: number) => {
    const latencies: Array<number> = []
    let next = 0
    let failures = 0
    const worker = async () => {
      while (next < items.length) {
        const item = items[next++]!
        item.onSend?.()
        const started = performance.now()
        const response = await fetch(`${item.baseUrl}/telegram/webhook/${item.bot.id}`, {
          method: "POST",
          headers: {
            "content-type": "application/json",
            "x-telegram-bot-api-secret-token": item.bot.secret
          },
          body: JSON.stringify(item.body)
        })
        await response.arrayBuffer()
        if (response.status !== 200) failures++
        latencies.push(performance.now() - started)
      }
    }
    await Promise.all(Array.from({ length: concurrency }, worker))
    return { latencies, failures }
  }

  const waitForSends = async (fakes: Fakes, count: number, timeoutMs: number) => {
    const started = Date.now()
    while (Date.now() - started < timeoutMs) {
      const sent = await sentMessages(fakes)
      if (sent.length >= count) return sent
      await sleep(100)
    }
    return sentMessages(fakes)
  }

  return { startFakes, stopFakes, resetDatabase, seedBots, startServer, postAll, waitForSends, stop }
}

// --- measuring ---

const BOTS = 100
const CHATS_PER_BOT = 10
const MESSAGES_PER_CHAT = 3

let nextUpdateId = 1
const update = (chatId: number, text: string) => ({
  update_id: nextUpdateId++,
  message: {
    message_id: nextUpdateId,
    date: Math.floor(Date.now() / 1000),
    chat: { id: chatId, type: "private" },
    from: { id: chatId, is_bot: false, first_name: "Bench" },
    text
  }
})

/** utime + stime of a process in seconds (0 once it is gone). */
const cpuSeconds = (pid: number | undefined): number => {
  if (pid === undefined) return 0
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ")
    return (Number(fields[11]) + Number(fields[12])) / 100
  } catch {
    return 0
  }
}

/** PostgreSQL's CPU seconds: the postmaster listening on the URL's port, its live backends, its reaped ones. */
const postgresCpuSeconds = (databaseUrl: string): number => {
  const port = new URL(databaseUrl).port
  const pids = readdirSync("/proc").filter((name) => /^\d+$/.test(name))
  const read = (pid: string, file: string) => {
    try {
      return readFileSync(`/proc/${pid}/${file}`, "utf8")
    } catch {
      return ""
    }
  }
  const postmaster = pids.find((pid) => {
    const args = read(pid, "cmdline").split("\0")
    return args[0]?.endsWith("/postgres") === true && args[args.indexOf("-p") + 1] === port
  })
  if (postmaster === undefined) return 0
  const fieldsOf = (pid: string) => read(pid, "stat").split(") ")[1]?.split(" ") ?? []
  const own = fieldsOf(postmaster)
  let ticks = [11, 12, 13, 14].reduce((sum, i) => sum + Number(own[i] ?? 0), 0)
  for (const pid of pids) {
    const fields = fieldsOf(pid)
    if (fields[1] === postmaster) ticks += Number(fields[11] ?? 0) + Number(fields[12] ?? 0)
  }
  return ticks / 100
}

/** Busy and total jiffies of the whole machine. */
const machineTicks = () => {
  const cpu = readFileSync("/proc/stat", "utf8").split("\n")[0]!.trim().split(/\s+/).slice(1).map(Number)
  const idle = (cpu[3] ?? 0) + (cpu[4] ?? 0)
  const total = cpu.reduce((sum, value) => sum + value, 0)
  return { busy: total - idle, total }
}

/** `telegram_messages_sent_total{outcome="ok"}` summed over bots: what this process sent. */
const sentByProcess = async (server: Server) => {
  const text = await fetch(`${server.baseUrl}/metrics`).then((response) => response.text())
  let total = 0
  for (const line of text.split("\n")) {
    if (line.startsWith("telegram_messages_sent_total{") && line.includes('outcome="ok"')) {
      total += Number(line.slice(line.lastIndexOf(" ") + 1))
    }
  }
  return total
}

/**
 * One run: `processes` servers on the database, replies end to end with instant
 * fakes. Resets the database first; starts and stops its own fakes and servers.
 */
export const scaleOutRun = async (
  databaseUrl: string,
  helpers: ScaleOutHelpers,
  processes: number
): Promise<Row> => {
  await helpers.resetDatabase(databaseUrl)
  const fakes = await helpers.startFakes(0)
  const servers: Array<Server> = []
  try {
    const bots = await helpers.seedBots(databaseUrl, BOTS, fakes)
    const first = await helpers.startServer(databaseUrl, fakes, { PIPELINE_CONCURRENCY: "1000" })
    servers.push(first)
    // Webhooks would be registered at the first process; the others only share its database.
    const others = await Promise.all(
      Array.from({ length: processes - 1 }, () =>
        helpers.startServer(databaseUrl, fakes, { PIPELINE_CONCURRENCY: "1000", PUBLIC_URL: first.baseUrl })
      )
    )
    servers.push(...others)

    const postedAt = new Map<string, number>()
    const items: Array<PostItem> = []
    for (let round = 0; round < MESSAGES_PER_CHAT; round++) {
      for (let b = 0; b < bots.length; b++) {
        for (let c = 0; c < CHATS_PER_BOT; c++) {
          const chatId = 5_000_000 + b * 100 + c
          const text = `bot ${b} chat ${c} message ${round}`
          items.push({
            // Round-robin over the processes, and each chat's messages alternate between them.
            baseUrl: servers[(b * CHATS_PER_BOT + c + round) % servers.length]!.baseUrl,
            bot: bots[b]!,
            body: update(chatId, text),
            onSend: () => postedAt.set(`reply to: ${text}`, Date.now())
          })
        }
      }
    }

    const cpuBefore = servers.map((server) => cpuSeconds(server.child.pid))
    const fakesCpuBefore = cpuSeconds(fakes.child.pid)
    const postgresCpuBefore = postgresCpuSeconds(databaseUrl)
    const driverCpuBefore = process.cpuUsage()
    const machineBefore = machineTicks()
    const started = Date.now()
    const posted = await helpers.postAll(items, 64)
    const sent = await helpers.waitForSends(fakes, items.length, 300_000)
    const last = Math.max(started, ...sent.map(([, , time]) => time))
    const machineAfter = machineTicks()
    const serverCpu = servers.map((server, i) => cpuSeconds(server.child.pid) - cpuBefore[i]!)
    const fakesCpu = cpuSeconds(fakes.child.pid) - fakesCpuBefore
    const postgresCpu = postgresCpuSeconds(databaseUrl) - postgresCpuBefore
    const driverUsage = process.cpuUsage(driverCpuBefore)
    const driverCpu = (driverUsage.user + driverUsage.system) / 1e6
    const latencies = sent.map(([, text, time]) => time - (postedAt.get(text) ?? time))
    const split = await Promise.all(servers.map(sentByProcess))
    const distinct = new Set(sent.map(([chatId, text]) => `${chatId}|${text}`)).size
    const seconds = (last - started) / 1000
    return {
      scenario: `scale-out, ${processes} process${processes === 1 ? "" : "es"} (${BOTS} bots x ${CHATS_PER_BOT} chats x ${MESSAGES_PER_CHAT})`,
      replies: sent.length,
      "per second": Math.round(sent.length / seconds),
      p50_ms: percentile(latencies, 50),
      p95_ms: percentile(latencies, 95),
      p99_ms: percentile(latencies, 99),
      failures: items.length - distinct + posted.failures,
      repeats: sent.length - distinct,
      "sent per process": split.join(" / "),
      "server CPU s": serverCpu.map((value) => value.toFixed(1)).join(" / "),
      "postgres CPU s": Number(postgresCpu.toFixed(1)),
      "fakes CPU s": Number(fakesCpu.toFixed(1)),
      "driver CPU s": Number(driverCpu.toFixed(1)),
      seconds: Number(seconds.toFixed(1)),
      "machine busy %": Math.round(
        (100 * (machineAfter.busy - machineBefore.busy)) /
          Math.max(1, machineAfter.total - machineBefore.total)
      )
    }
  } finally {
    await Promise.all(servers.map((server) => helpers.stop(server.child)))
    await helpers.stopFakes(fakes)
  }
}

/** The scenario: one process, then two sharing the database; one row each. */
export const scaleOut = async (databaseUrl: string, helpers: ScaleOutHelpers): Promise<Array<Row>> => [
  await scaleOutRun(databaseUrl, helpers, 1),
  await scaleOutRun(databaseUrl, helpers, 2)
]
