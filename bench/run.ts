/**
 * `npm run bench`: starts PostgreSQL (embedded), the fakes (own process) and
 * the server (own process, started as `npm start` starts it), drives it from
 * this process, prints a table and writes bench/results/<time>.json.
 *
 *   npm run bench                 every scenario
 *   npm run bench -- ingest hot   some (ingest, e2e, e2e-slow-llm, hot, rest, scale)
 */
import { type ChildProcess, spawn } from "node:child_process"
import { randomBytes, randomUUID } from "node:crypto"
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { createServer } from "node:net"
import os from "node:os"
import path from "node:path"
import { createInterface } from "node:readline"
import { fileURLToPath } from "node:url"
import { SecretBoxAes } from "@botfleet/adapters"
import { Database, startEmbeddedPostgres } from "@botfleet/adapters/postgres"
import { SecretBox } from "@botfleet/application"
import { Effect, Exit, Layer, Option, Redacted, Scope } from "effect"
import { SqlClient } from "effect/sql"
import { makeHelpers, scaleOut } from "./scaleOut.ts"

const root = fileURLToPath(new URL("../", import.meta.url))
const selected = new Set(process.argv.slice(2))
const wanted = (name: string) => selected.size === 0 || selected.has(name)
const SECRETS_KEY = randomBytes(32).toString("base64")

type Row = Record<string, string | number>
const results: Array<Row> = []

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

interface Fakes {
  readonly child: ChildProcess
  readonly telegramApiRoot: string
  readonly openaiBaseUrl: string
  readonly control: string
}

const startFakes = async (llmLatencyMs: number): Promise<Fakes> => {
  const child = node("bench/fakes.ts", [String(llmLatencyMs)], {})
  const line = await new Promise<string>((resolve) =>
    createInterface({ input: child.stdout! }).once("line", resolve)
  )
  return { child, ...(JSON.parse(line) as Omit<Fakes, "child">) }
}

const sentMessages = async (fakes: Fakes) =>
  (await (await fetch(`${fakes.control}/sent`)).json()) as Array<[chatId: number, text: string, time: number]>

interface BenchBot {
  readonly id: string
  readonly secret: string
  readonly token: string
}

/** Stores active bots straight in the database (the admin API is not needed to measure the pipeline). */
const seedBots = (databaseUrl: string, count: number, fakes: Fakes) =>
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
        SecretBoxAes.layer(Redacted.make(SECRETS_KEY))
      )
    ),
    Effect.orDie
  )

const resetDatabase = (databaseUrl: string) =>
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    yield* sql`TRUNCATE bots, tg_users, chat_leases, domain_effects CASCADE`
  }).pipe(Effect.provide(Database.clientLayer(Redacted.make(databaseUrl), 1)), Effect.orDie)

interface Server {
  readonly child: ChildProcess
  readonly baseUrl: string
}

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
    SECRETS_KEY,
    LOG_LEVEL: "error",
    // BENCH_PROFILE=1 writes a CPU profile of the server to bench/results/.
    ...(process.env.BENCH_PROFILE
      ? { NODE_OPTIONS: `--cpu-prof --cpu-prof-dir=${path.join(root, "bench/results")}` }
      : {}),
    ...extra
  })
  child.stdout?.resume()
  for (let i = 0; i < 600; i++) {
    const ready = await fetch(`${baseUrl}/ready`).then(
      (response) => response.ok,
      () => false
    )
    if (ready) return { child, baseUrl }
    await sleep(50)
  }
  throw new Error("server did not become ready")
}

const stop = async (child: ChildProcess) => {
  const exited = new Promise((resolve) => child.once("exit", resolve))
  child.kill("SIGTERM")
  await exited
}

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

/** Posts bodies with at most `concurrency` requests open; returns each acknowledgement's latency. */
const postAll = async (
  baseUrl: string,
  items: ReadonlyArray<{ bot: BenchBot; body: unknown; onSend?: () => void }>,
  concurrency: number
) => {
  const latencies: Array<number> = []
  let next = 0
  let failures = 0
  const worker = async () => {
    while (next < items.length) {
      const item = items[next++]!
      item.onSend?.()
      const started = performance.now()
      const response = await fetch(`${baseUrl}/telegram/webhook/${item.bot.id}`, {
        method: "POST",
        headers: { "content-type": "application/json", "x-telegram-bot-api-secret-token": item.bot.secret },
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

/** CPU seconds (user + system) a process has used so far. */
const cpuSeconds = (pid: number) => {
  const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ")
  return (Number(fields[11]) + Number(fields[12])) / 100
}

const rssMb = (pid: number) => {
  const status = readFileSync(`/proc/${pid}/status`, "utf8")
  const kb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0)
  return Math.round(kb / 1024)
}

/** Scenario 1: webhook acknowledgements for 1 bot and 1,000 chats. */
const ingest = async (databaseUrl: string) => {
  const fakes = await startFakes(0)
  const [bot] = await Effect.runPromise(seedBots(databaseUrl, 1, fakes))
  const server = await startServer(
    databaseUrl,
    fakes,
    process.env.BENCH_INGEST_ONLY ? { PIPELINE_CONCURRENCY: "1" } : {}
  )
  const total = 10_000
  const items = Array.from({ length: total }, (_, i) => ({
    bot: bot!,
    body: update(1_000_000 + (i % 1000), `ingest ${i}`)
  }))
  // Warm up connections and code paths first.
  await postAll(server.baseUrl, items.slice(0, 500), 32)
  const started = performance.now()
  const cpuBefore = cpuSeconds(server.child.pid!)
  const { latencies, failures } = await postAll(server.baseUrl, items.slice(500), 32)
  const seconds = (performance.now() - started) / 1000
  const cpuUsed = cpuSeconds(server.child.pid!) - cpuBefore
  results.push({
    scenario: "1 ingest (1 bot, 1,000 chats)",
    updates: total - 500,
    "per second": Math.round((total - 500) / seconds),
    p50_ms: percentile(latencies, 50),
    p95_ms: percentile(latencies, 95),
    p99_ms: percentile(latencies, 99),
    "server CPU ms/update": Math.round((cpuUsed * 1000 * 100) / (total - 500)) / 100,
    failures
  })
  await stop(server.child)
  fakes.child.stdin?.end()
}

/** Scenario 2: replies end to end, 100 bots x 10 chats. */
const endToEnd = async (
  databaseUrl: string,
  llmLatencyMs: number,
  messagesPerChat: number,
  label: string
) => {
  const fakes = await startFakes(llmLatencyMs)
  const bots = await Effect.runPromise(seedBots(databaseUrl, 100, fakes))
  const server = await startServer(databaseUrl, fakes, { PIPELINE_CONCURRENCY: "1000" })
  const postedAt = new Map<string, number>()
  const items = []
  for (let round = 0; round < messagesPerChat; round++) {
    for (let b = 0; b < bots.length; b++) {
      for (let c = 0; c < 10; c++) {
        const chatId = 2_000_000 + b * 100 + c
        const text = `bot ${b} chat ${c} message ${round}`
        items.push({
          bot: bots[b]!,
          body: update(chatId, text),
          onSend: () => postedAt.set(`reply to: ${text}`, Date.now())
        })
      }
    }
  }
  const started = Date.now()
  const cpuBefore = cpuSeconds(server.child.pid!)
  await postAll(server.baseUrl, items, 64)
  const sent = await waitForSends(fakes, items.length, 300_000)
  const cpuUsed = cpuSeconds(server.child.pid!) - cpuBefore
  const last = Math.max(...sent.map(([, , time]) => time))
  const latencies = sent.map(([, text, time]) => time - (postedAt.get(text) ?? time))
  results.push({
    scenario: `2 end to end, ${label}`,
    replies: sent.length,
    "per second": Math.round(sent.length / ((last - started) / 1000)),
    p50_ms: percentile(latencies, 50),
    p95_ms: percentile(latencies, 95),
    p99_ms: percentile(latencies, 99),
    "server CPU ms/reply": Math.round((cpuUsed * 1000 * 100) / sent.length) / 100,
    failures: items.length - sent.length
  })
  await stop(server.child)
  fakes.child.stdin?.end()
}

/** Scenario 3: 500 messages to one chat, answered in order. */
const hotChat = async (databaseUrl: string) => {
  const fakes = await startFakes(0)
  const [bot] = await Effect.runPromise(seedBots(databaseUrl, 1, fakes))
  const server = await startServer(databaseUrl, fakes)
  const texts = Array.from({ length: 500 }, (_, i) => `hot ${i}`)
  const started = Date.now()
  await postAll(
    server.baseUrl,
    texts.map((text) => ({ bot: bot!, body: update(3_000_000, text) })),
    1
  )
  const sent = await waitForSends(fakes, texts.length, 120_000)
  const inOrder = sent.every(([, text], i) => text === `reply to: ${texts[i]}`)
  results.push({
    scenario: "3 one hot chat (500 messages)",
    replies: sent.length,
    "per second": Math.round(sent.length / ((Math.max(...sent.map(([, , t]) => t)) - started) / 1000)),
    "in order": inOrder ? "yes" : "NO",
    failures: texts.length - sent.length
  })
  await stop(server.child)
  fakes.child.stdin?.end()
}

/** Scenario 4: 10,000 registered bots, 1,000 chats with history: resident memory. */
const atRest = async (databaseUrl: string) => {
  const fakes = await startFakes(0)
  await Effect.runPromise(
    Effect.gen(function* () {
      const sql = yield* SqlClient.SqlClient
      yield* sql`
        INSERT INTO bots (id, name, token_ciphertext, token_hint, telegram_bot_id, username, webhook_secret, active)
        SELECT gen_random_uuid(), 'rest-' || n, 'v1:x', 'x', 100000000 + n, 'rest_' || n || '_bot', md5(n::text), true
        FROM generate_series(1, 10000) AS n`
      yield* sql`
        INSERT INTO chats (id, bot_id, telegram_chat_id, type, thread, last_message_at)
        SELECT gen_random_uuid(), (SELECT id FROM bots ORDER BY id LIMIT 1 OFFSET n % 100), 4000000 + n, 'private', 1, now()
        FROM generate_series(1, 1000) AS n`
      yield* sql`
        INSERT INTO messages (id, chat_id, bot_id, role, text, thread, status, created_at)
        SELECT gen_random_uuid(), chats.id, chats.bot_id, CASE WHEN n % 2 = 0 THEN 'user' ELSE 'assistant' END,
               repeat('history ', 20), 1, 'sent', now() - make_interval(secs => n)
        FROM chats CROSS JOIN generate_series(1, 20) AS n`
    }).pipe(Effect.provide(Database.clientLayer(Redacted.make(databaseUrl), 1)), Effect.orDie)
  )
  const server = await startServer(databaseUrl, fakes)
  await sleep(5_000)
  results.push({
    scenario: "4 fleet at rest (10,000 bots, 1,000 chats)",
    "server RSS MB": rssMb(server.child.pid!)
  })
  await stop(server.child)
  fakes.child.stdin?.end()
}

const main = async () => {
  const scope = Effect.runSync(Scope.make())
  const dataDir = mkdtempSync(path.join(os.tmpdir(), "botfleet-bench-"))
  try {
    const server = await Effect.runPromise(
      startEmbeddedPostgres({ dataDir, ephemeral: true }).pipe(Scope.provide(scope))
    )
    const databaseUrl = Redacted.value(server.url)
    await Effect.runPromise(
      Effect.scoped(
        Layer.build(Database.layer({ url: Option.some(server.url), dataDir, maxConnections: 2 }))
      ).pipe(Effect.orDie)
    )
    const scenarios: Array<[string, () => Promise<void>]> = [
      ["ingest", () => ingest(databaseUrl)],
      ["e2e", () => endToEnd(databaseUrl, 0, 5, "instant fakes (100 bots x 10 chats x 5)")],
      ["e2e-slow-llm", () => endToEnd(databaseUrl, 1000, 2, "LLM 1 s (100 bots x 10 chats x 2)")],
      ["hot", () => hotChat(databaseUrl)],
      ["rest", () => atRest(databaseUrl)],
      [
        "scale",
        async () => {
          results.push(...(await scaleOut(databaseUrl, makeHelpers())))
        }
      ]
    ]
    for (const [name, run] of scenarios) {
      if (!wanted(name)) continue
      await Effect.runPromise(resetDatabase(databaseUrl))
      process.stderr.write(`running ${name}…\n`)
      await run()
    }
  } finally {
    await Effect.runPromise(Scope.close(scope, Exit.void))
    rmSync(dataDir, { recursive: true, force: true })
  }
  const machine = {
    cpu: os.cpus()[0]?.model ?? "unknown",
    cores: os.cpus().length,
    memoryGb: Math.round(os.totalmem() / 2 ** 30),
    node: process.version,
    date: new Date().toISOString()
  }
  console.log(
    `\nmachine: ${machine.cpu}, ${machine.cores} cores, ${machine.memoryGb} GB, Node ${machine.node}`
  )
  console.table(results)
  const folder = path.join(root, "bench/results")
  mkdirSync(folder, { recursive: true })
  const file = path.join(folder, `${machine.date.replace(/[:.]/g, "-")}.json`)
  writeFileSync(file, JSON.stringify({ machine, results }, null, 2))
  console.log(`written: ${path.relative(root, file)}`)
}

main().then(
  () => process.exit(0),
  (error) => {
    console.error(error)
    process.exit(1)
  }
)
