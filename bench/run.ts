/**
 * `npm run bench`: starts PostgreSQL (embedded), the fakes (own process) and
 * the server (own process, started as `npm start` starts it), drives it from
 * this process, prints a table and writes bench/results/<time>.json.
 *
 *   npm run bench                 every scenario
 *   npm run bench -- mixed hot    some (mixed, viral-bot, flood, slow-model, in-flight, rate-limited, ingest,
 *                                 e2e, e2e-slow-llm, hot, rest, polling, polling-10k, scale, parts,
 *                                 knowledge, tool-step, poll-clients)
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs"
import os from "node:os"
import path from "node:path"
import { Database, startEmbeddedPostgres } from "@botfleet/adapters/postgres"
import { PgliteVector } from "@botfleet/testing"
import { Effect, Exit, Layer, Option, Redacted, Scope } from "effect"
import { SqlClient } from "effect/sql"
import {
  callCounts,
  cpuSeconds,
  type FakeStats,
  fakeStats,
  type PostItem,
  peakRss,
  percentile,
  postAll,
  pushUpdates,
  type Row,
  resetDatabase,
  root,
  rssMb,
  type Sent,
  seedBots,
  sleep,
  startFakes,
  startServer,
  stop,
  update,
  waitForSends
} from "./harness.ts"
import { inFlight } from "./inFlight.ts"
import { knowledge } from "./knowledge.ts"
import { parts } from "./parts.ts"
import { pollClients } from "./pollClients.ts"
import { scaleOut } from "./scaleOut.ts"
import { sampleSlots } from "./slotSampler.ts"

const selected = new Set(process.argv.slice(2))
const wanted = (name: string) => selected.size === 0 || selected.has(name)

const results: Array<Row> = []

/**
 * Headline: what Telegram really does. 50 bots x 20 private chats x 3 messages
 * posted at concurrency 64 while the pipeline answers them: the acknowledgement
 * rate and latency under load, replies end to end, order per chat, server CPU
 * per reply and the server's peak RSS.
 */
const mixed = async (databaseUrl: string) => {
  const fakes = await startFakes(0)
  const bots = await seedBots(databaseUrl, 50, fakes)
  const server = await startServer(databaseUrl, fakes)
  const items: Array<PostItem> = []
  const expected = new Map<number, Array<string>>()
  for (let round = 0; round < 3; round++) {
    for (let b = 0; b < bots.length; b++) {
      for (let c = 0; c < 20; c++) {
        // Distinct Telegram chat ids across bots, so the fake's log reads per chat.
        const chatId = 5_000_000 + b * 100 + c
        const text = `bot ${b} chat ${c} message ${round}`
        items.push({ baseUrl: server.baseUrl, bot: bots[b]!, body: update(chatId, text) })
        expected.set(chatId, [...(expected.get(chatId) ?? []), `reply to: ${text}`])
      }
    }
  }
  const rss = peakRss(server.child.pid!)
  const started = Date.now()
  const cpuBefore = cpuSeconds(server.child.pid)
  const { latencies, failures } = await postAll(items, 64)
  const ingestSeconds = (Date.now() - started) / 1000
  const sent = await waitForSends(fakes, items.length, 300_000)
  const cpuUsed = cpuSeconds(server.child.pid) - cpuBefore
  const peak = rss()
  const last = Math.max(...sent.map(([, , time]) => time))
  const byChat = new Map<number, Array<string>>()
  for (const [chatId, text] of sent) byChat.set(chatId, [...(byChat.get(chatId) ?? []), text])
  const inOrder = [...expected].every(
    ([chatId, texts]) => (byChat.get(chatId) ?? []).join("\n") === texts.join("\n")
  )
  results.push({
    scenario: "0 mixed: 50 bots x 20 chats x 3, ingest and pipeline at once",
    updates: items.length,
    "ingest /s": Math.round(items.length / ingestSeconds),
    "ack p50_ms": percentile(latencies, 50),
    "ack p99_ms": percentile(latencies, 99),
    "replies /s": Math.round(sent.length / ((last - started) / 1000)),
    "in order": inOrder ? "yes" : "NO",
    "server CPU ms/reply": Math.round((cpuUsed * 1000 * 100) / Math.max(1, sent.length)) / 100,
    "server peak RSS MB": peak,
    failures: failures + items.length - sent.length
  })
  await stop(server.child)
  fakes.child.stdin?.end()
}

/**
 * One tool step per reply: 20 bots with `current_time` on x 20 chats x 2,
 * posted at concurrency 64; the fake model calls the tool once, then answers.
 * Each reply is two model requests, two tool_calls rows (inserted, then
 * finished) and the tool itself: replies per second and server CPU per reply.
 */
const toolStep = async (databaseUrl: string) => {
  const fakes = await startFakes(0, { toolStep: true })
  const bots = await seedBots(databaseUrl, 20, fakes)
  await Effect.runPromise(
    Effect.gen(function* () {
      const sql = yield* SqlClient.SqlClient
      yield* sql`UPDATE bots SET tools = '["current_time"]'::jsonb`
    }).pipe(Effect.provide(Database.clientLayer(Redacted.make(databaseUrl), 1)), Effect.orDie)
  )
  const server = await startServer(databaseUrl, fakes)
  const items: Array<PostItem> = []
  for (let round = 0; round < 2; round++) {
    for (let b = 0; b < bots.length; b++) {
      for (let c = 0; c < 20; c++) {
        items.push({
          baseUrl: server.baseUrl,
          bot: bots[b]!,
          body: update(8_000_000 + b * 100 + c, `time ${round}?`)
        })
      }
    }
  }
  const started = Date.now()
  const cpuBefore = cpuSeconds(server.child.pid)
  const { failures } = await postAll(items, 64)
  const sent = await waitForSends(fakes, items.length, 300_000)
  const cpuUsed = cpuSeconds(server.child.pid) - cpuBefore
  const last = Math.max(...sent.map(([, , time]) => time))
  // Proof the tool ran: one finished call per reply.
  const [calls] = await Effect.runPromise(
    Effect.gen(function* () {
      const sql = yield* SqlClient.SqlClient
      return yield* sql<{
        count: number
      }>`SELECT count(*)::int AS count FROM tool_calls WHERE status = 'finished'`
    }).pipe(Effect.provide(Database.clientLayer(Redacted.make(databaseUrl), 1)), Effect.orDie)
  )
  results.push({
    scenario: "tool step: 20 bots x 20 chats x 2, current_time once per reply",
    "tool calls": calls?.count ?? 0,
    updates: items.length,
    "replies /s": Math.round(sent.length / ((last - started) / 1000)),
    "server CPU ms/reply": Math.round((cpuUsed * 1000 * 100) / Math.max(1, sent.length)) / 100,
    failures: failures + items.length - sent.length
  })
  await stop(server.child)
  fakes.child.stdin?.end()
}

/** Sends grouped by chat, in the order the fake received them. */
const byChat = (sent: ReadonlyArray<Sent>) => {
  const chats = new Map<number, Array<string>>()
  for (const [chatId, text] of sent) chats.set(chatId, [...(chats.get(chatId) ?? []), text])
  return chats
}

const inOrder = (sent: ReadonlyArray<Sent>, expected: ReadonlyMap<number, ReadonlyArray<string>>) => {
  const chats = byChat(sent)
  return [...expected].every(([chatId, texts]) => (chats.get(chatId) ?? []).join("\n") === texts.join("\n"))
}

/** Posts rounds one after another (each round's chats at once), so a chat's messages arrive in order. */
const postRounds = async (rounds: ReadonlyArray<ReadonlyArray<PostItem>>, concurrency: number) => {
  let failures = 0
  for (const round of rounds) failures += (await postAll(round, concurrency)).failures
  return failures
}

/**
 * The fairness case: one bot gets 3,000 messages over 300 chats at once (its
 * Telegram budget, ~25 a second, makes that a two-minute backlog), then 20
 * other bots get one message each. Their reply latency (post to send), and
 * the busy bot's backlog: drained at its Telegram rate, in order per chat.
 */
const viralBot = async (databaseUrl: string) => {
  const fakes = await startFakes(0)
  const [busy, ...others] = await seedBots(databaseUrl, 21, fakes)
  const server = await startServer(databaseUrl, fakes)
  const expected = new Map<number, Array<string>>()
  const rounds: Array<Array<PostItem>> = []
  for (let round = 0; round < 10; round++) {
    const items: Array<PostItem> = []
    for (let c = 0; c < 300; c++) {
      const chatId = 7_000_000 + c
      const text = `viral chat ${c} message ${round}`
      items.push({ baseUrl: server.baseUrl, bot: busy!, body: update(chatId, text) })
      expected.set(chatId, [...(expected.get(chatId) ?? []), `reply to: ${text}`])
    }
    rounds.push(items)
  }
  const started = Date.now()
  const cpuBefore = cpuSeconds(server.child.pid)
  const rss = peakRss(server.child.pid!)
  let failures = await postRounds(rounds, 64)
  const postedAt = new Map<string, number>()
  const quiet = others.map((bot, i) => {
    const text = `quiet bot ${i}`
    return {
      baseUrl: server.baseUrl,
      bot,
      body: update(7_500_000 + i, text),
      onSend: () => postedAt.set(`reply to: ${text}`, Date.now())
    }
  })
  failures += (await postAll(quiet, 20)).failures
  const total = 3_000 + quiet.length
  const sent = await waitForSends(fakes, total, 400_000)
  const cpuUsed = cpuSeconds(server.child.pid) - cpuBefore
  const latencies = sent
    .filter(([, text]) => postedAt.has(text))
    .map(([, text, time]) => time - postedAt.get(text)!)
  const busySends = sent.filter(([chatId]) => chatId < 7_500_000).map(([, , time]) => time)
  const drainSeconds = (Math.max(...busySends) - started) / 1000
  results.push({
    scenario: "7 viral bot: 1 bot x 300 chats x 10 at once, then 20 bots x 1",
    "others answered": latencies.length,
    "others p50_ms": percentile(latencies, 50),
    "others p99_ms": percentile(latencies, 99),
    "backlog s": Math.round(drainSeconds * 10) / 10,
    "busy sends /s": Math.round(busySends.length / drainSeconds),
    "in order": inOrder(sent, expected) ? "yes" : "NO",
    "server CPU ms/reply": Math.round((cpuUsed * 1000 * 100) / Math.max(1, sent.length)) / 100,
    "server peak RSS MB": rss(),
    failures: failures + total - sent.length
  })
  await stop(server.child)
  fakes.child.stdin?.end()
}

/**
 * Telegram stricter than its guidance (one message a second per chat, no
 * burst at all): 40 chats x 5 replies of one bot. Sends refused with 429,
 * all delivered in order, and the time against what the limits allow.
 */
const flood = async (databaseUrl: string) => {
  const fakes = await startFakes(0, { strictTelegram: true })
  const [bot] = await seedBots(databaseUrl, 1, fakes)
  const server = await startServer(databaseUrl, fakes)
  const chats = 40
  const perChat = 5
  const expected = new Map<number, Array<string>>()
  const rounds = Array.from({ length: perChat }, (_, round) =>
    Array.from({ length: chats }, (_, c) => {
      const chatId = 8_000_000 + c
      const text = `flood chat ${c} message ${round}`
      expected.set(chatId, [...(expected.get(chatId) ?? []), `reply to: ${text}`])
      return { baseUrl: server.baseUrl, bot: bot!, body: update(chatId, text) }
    })
  )
  const started = Date.now()
  const failures = await postRounds(rounds, chats)
  const sent = await waitForSends(fakes, chats * perChat, 120_000)
  const seconds = (Math.max(...sent.map(([, , time]) => time)) - started) / 1000
  const stats = await fakeStats(fakes)
  if (process.env.BENCH_DEBUG) {
    const times = sent.map(([, , time]) => Math.round((time - started) / 100) / 10).sort((a, b) => a - b)
    process.stderr.write(`flood send times (s): ${times.filter((_, i) => i % 10 === 0).join(" ")}\n`)
  }
  // One a second per chat after the first; 30 a second for the bot.
  const allowed = Math.max(perChat - 1, (chats * perChat) / 30)
  results.push({
    scenario: "8 flood: 40 chats x 5 under a strict Telegram (1/s per chat, no burst)",
    replies: sent.length,
    "sendMessage calls": stats.sendMessageCalls,
    refused: stats.floodRejections,
    "refused %": Math.round((stats.floodRejections / Math.max(1, stats.sendMessageCalls)) * 1000) / 10,
    "in order": inOrder(sent, expected) ? "yes" : "NO",
    seconds: Math.round(seconds * 10) / 10,
    "limits allow s": Math.round(allowed * 10) / 10,
    failures: failures + chats * perChat - sent.length
  })
  await stop(server.child)
  fakes.child.stdin?.end()
}

/**
 * A slow model: every answer streams for 1.5 s. 50 bots x 40 chats x 2
 * messages: replies per second against what the in-flight limit allows
 * (PIPELINE_CONCURRENCY / 1.5 s, or the posting if that is longer), the server's peak RSS and CPU, and the
 * memory one waiting chat costs (peak over the idle server, per chat in flight).
 */
const slowModel = async (databaseUrl: string) => {
  const streamMillis = 1_500
  // BENCH_STREAMING=off: bots that answer without drafts, from a model as slow as the stream.
  const fakes = await startFakes(process.env.BENCH_STREAMING === "off" ? streamMillis : 0, { streamMillis })
  const bots = await seedBots(databaseUrl, 50, fakes)
  const concurrency = Number(
    (process.env.BENCH_SERVER_ENV
      ? JSON.parse(process.env.BENCH_SERVER_ENV).PIPELINE_CONCURRENCY
      : undefined) ??
      process.env.BENCH_SLOW_CONCURRENCY ??
      1024
  )
  const server = await startServer(databaseUrl, fakes, { PIPELINE_CONCURRENCY: String(concurrency) })
  await sleep(2_000)
  const idleRss = rssMb(server.child.pid!)
  const expected = new Map<number, Array<string>>()
  const rounds = Array.from({ length: 2 }, (_, round) => {
    const items: Array<PostItem> = []
    for (let b = 0; b < bots.length; b++) {
      for (let c = 0; c < 40; c++) {
        const chatId = 9_000_000 + b * 100 + c
        const text = `slow bot ${b} chat ${c} message ${round}`
        items.push({ baseUrl: server.baseUrl, bot: bots[b]!, body: update(chatId, text) })
        expected.set(chatId, [...(expected.get(chatId) ?? []), `reply to: ${text}`])
      }
    }
    return items
  })
  const total = rounds.flat().length
  const rss = peakRss(server.child.pid!)
  const started = Date.now()
  const cpuBefore = cpuSeconds(server.child.pid)
  const slots = process.env.BENCH_SAMPLE_SLOTS ? sampleSlots(databaseUrl, fakes) : undefined
  const failures = await postRounds(rounds, 64)
  const ingestSeconds = (Date.now() - started) / 1000
  const sent = await waitForSends(fakes, total, 300_000)
  const seconds = (Math.max(...sent.map(([, , time]) => time)) - started) / 1000
  const cpuUsed = cpuSeconds(server.child.pid) - cpuBefore
  if (slots !== undefined) {
    const { series, ...summary } = await slots()
    console.log("slots sampled every 100 ms:", JSON.stringify(summary))
    const file = path.join(root, "bench", "results", `slots-${Date.now()}.json`)
    mkdirSync(path.dirname(file), { recursive: true })
    writeFileSync(
      file,
      JSON.stringify({ columns: ["ms", "leased", "at model", "eligible", "parked"], series })
    )
    console.log("series:", file)
  }
  const peak = rss()
  const stats = await fakeStats(fakes)
  const perSecond = sent.length / seconds
  // What the in-flight limit allows: every answer holds a slot for the stream, so at most
  // `concurrency` streams at a time; and no answer before its update is posted, so the window is
  // never shorter than the posting plus one stream (at 1,024 slots the posting is the bound).
  const stream = streamMillis / 1000
  const allows = total / Math.max((total * stream) / concurrency, ingestSeconds + stream)
  // Little's law: chats in flight = replies a second x the time each is in flight (the stream).
  const inFlight = Math.round(perSecond * (streamMillis / 1000))
  results.push({
    scenario: `9 slow model: 50 bots x 40 chats x 2, answers streamed over 1.5 s, PIPELINE_CONCURRENCY ${concurrency}${process.env.BENCH_STREAMING === "off" ? ", no drafts" : ""}`,
    replies: sent.length,
    "ingest s": Math.round(ingestSeconds * 10) / 10,
    "replies /s": Math.round(perSecond),
    "limit allows /s": Math.round(allows),
    "% of limit": Math.round((perSecond / allows) * 100),
    "in flight (avg)": inFlight,
    "in flight (peak)": stats.llmPeakInFlight,
    drafts: stats.draftCalls,
    "in order": inOrder(sent, expected) ? "yes" : "NO",
    "server CPU % (2 cores = 200)": Math.round((cpuUsed / seconds) * 100),
    "server CPU ms/reply": Math.round((cpuUsed * 1000 * 100) / Math.max(1, sent.length)) / 100,
    "idle RSS MB": idleRss,
    "server peak RSS MB": peak,
    failures: failures + total - sent.length
  })
  await stop(server.child)
  fakes.child.stdin?.end()
}

/**
 * A provider that allows 100 requests a minute (a bucket as deep as that):
 * 10 bots x 10 chats x 3 messages (300 replies, about two minutes of its
 * limit). Nothing lost, order kept, and the share of the model calls it
 * refused after the first minute.
 */
const rateLimited = async (databaseUrl: string) => {
  const perMinute = Number(process.env.BENCH_RPM ?? 100)
  const fakes = await startFakes(0, { requestsPerMinute: perMinute })
  const bots = await seedBots(databaseUrl, 10, fakes)
  const server = await startServer(databaseUrl, fakes)
  const expected = new Map<number, Array<string>>()
  const rounds = Array.from({ length: 3 }, (_, round) => {
    const items: Array<PostItem> = []
    for (let b = 0; b < bots.length; b++) {
      for (let c = 0; c < 10; c++) {
        const chatId = 9_500_000 + b * 100 + c
        const text = `limited bot ${b} chat ${c} message ${round}`
        items.push({ baseUrl: server.baseUrl, bot: bots[b]!, body: update(chatId, text) })
        expected.set(chatId, [...(expected.get(chatId) ?? []), `reply to: ${text}`])
      }
    }
    return items
  })
  const total = rounds.flat().length
  const started = Date.now()
  const failures = await postRounds(rounds, 64)
  let atMinute: FakeStats | undefined
  const timer = setTimeout(() => {
    fakeStats(fakes).then((stats) => {
      atMinute = stats
    })
  }, 60_000)
  const sent = await waitForSends(fakes, total, 600_000)
  clearTimeout(timer)
  const seconds = (Math.max(...sent.map(([, , time]) => time)) - started) / 1000
  const end = await fakeStats(fakes)
  const first = atMinute?.llm ?? end.llm
  const laterCalls = end.llm.answered + end.llm.refused - first.answered - first.refused
  const laterRefused = end.llm.refused - first.refused
  results.push({
    scenario: `10 rate-limited provider: ${perMinute} requests/min, 10 bots x 10 chats x 3`,
    replies: sent.length,
    seconds: Math.round(seconds),
    "model calls": end.llm.answered + end.llm.refused,
    "refused 1st min": first.refused,
    "calls after 1st min": laterCalls,
    "refused after 1st min %": Math.round((laterRefused / Math.max(1, laterCalls)) * 1000) / 10,
    "in order": inOrder(sent, expected) ? "yes" : "NO",
    lost: total - sent.length,
    failures
  })
  await stop(server.child)
  fakes.child.stdin?.end()
}

/**
 * The default mode (no PUBLIC_URL): every bot long-polls, and the fake holds
 * each getUpdates for the timeout asked, as Telegram does. Measured as an
 * operator sees it: the server process's own RSS (node, not PostgreSQL) once
 * every bot has polled and 25 s have passed at rest; its CPU at rest (% of one
 * core) and the polls per second over the next 60 s (a whole long-poll cycle,
 * so the wave of bots that started together counts once); then 50 bots spread over
 * the fleet each get one message at the same moment: the time from the update
 * being queued at the fake Telegram to the reply.
 */
const pollingFleet = async (databaseUrl: string, count: number) => {
  const fakes = await startFakes(0)
  const bots = await seedBots(databaseUrl, count, fakes)
  const server = await startServer(databaseUrl, fakes, { PUBLIC_URL: "" })
  const pid = server.child.pid!
  const startedAt = Date.now()
  // Every bot has asked once (the loops start gradually).
  while (((await callCounts(fakes)).getUpdates ?? 0) < count) {
    if (Date.now() - startedAt > 300_000) throw new Error("not every bot polled within 300 s")
    await sleep(500)
  }
  const allPolling = (Date.now() - startedAt) / 1000
  await sleep(25_000)
  const rest = rssMb(pid)
  const cpuBefore = cpuSeconds(pid)
  const pollsBefore = (await callCounts(fakes)).getUpdates ?? 0
  const windowStarted = performance.now()
  await sleep(60_000)
  const windowSeconds = (performance.now() - windowStarted) / 1000
  const cpuAtRest = (cpuSeconds(pid) - cpuBefore) / windowSeconds
  const pollsPerSecond = (((await callCounts(fakes)).getUpdates ?? 0) - pollsBefore) / windowSeconds
  // Read again at the end of the window: one reading swings with where the GC stands.
  const restLater = rssMb(pid)
  const chosen = bots.filter((_, i) => i % Math.floor(count / 50) === 0).slice(0, 50)
  const { time: pushedAt } = await pushUpdates(
    fakes,
    chosen.map((bot, i) => ({ token: bot.token, update: update(6_000_000 + i, `polled ${i}`) }))
  )
  const sent = await waitForSends(fakes, chosen.length, 60_000)
  const latencies = sent.map(([, , time]) => time - pushedAt)
  results.push({
    scenario: `5 polling fleet (${count.toLocaleString("en")} bots, no PUBLIC_URL)`,
    "all polling s": Math.round(allPolling),
    "server RSS MB": rest,
    "RSS 60 s later MB": restLater,
    "CPU at rest %": Math.round(cpuAtRest * 1000) / 10,
    "polls /s": Math.round(pollsPerSecond),
    replies: sent.length,
    p50_ms: percentile(latencies, 50),
    p99_ms: percentile(latencies, 99),
    failures: chosen.length - sent.length
  })
  await stop(server.child)
  fakes.child.stdin?.end()
}

/** Scenario 1: webhook acknowledgements for 1 bot and 1,000 chats. */
const ingest = async (databaseUrl: string) => {
  const fakes = await startFakes(0)
  const [bot] = await seedBots(databaseUrl, 1, fakes)
  const server = await startServer(
    databaseUrl,
    fakes,
    process.env.BENCH_INGEST_ONLY ? { PIPELINE_CONCURRENCY: "1" } : {}
  )
  const total = 10_000
  const items = Array.from({ length: total }, (_, i) => ({
    baseUrl: server.baseUrl,
    bot: bot!,
    body: update(1_000_000 + (i % 1000), `ingest ${i}`)
  }))
  // Warm up connections and code paths first.
  await postAll(items.slice(0, 500), 32)
  const started = performance.now()
  const cpuBefore = cpuSeconds(server.child.pid)
  const { latencies, failures } = await postAll(items.slice(500), 32)
  const seconds = (performance.now() - started) / 1000
  const cpuUsed = cpuSeconds(server.child.pid) - cpuBefore
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
  const bots = await seedBots(databaseUrl, 100, fakes)
  const server = await startServer(databaseUrl, fakes, { PIPELINE_CONCURRENCY: "1000" })
  const postedAt = new Map<string, number>()
  const items = []
  for (let round = 0; round < messagesPerChat; round++) {
    for (let b = 0; b < bots.length; b++) {
      for (let c = 0; c < 10; c++) {
        const chatId = 2_000_000 + b * 100 + c
        const text = `bot ${b} chat ${c} message ${round}`
        items.push({
          baseUrl: server.baseUrl,
          bot: bots[b]!,
          body: update(chatId, text),
          onSend: () => postedAt.set(`reply to: ${text}`, Date.now())
        })
      }
    }
  }
  const started = Date.now()
  const cpuBefore = cpuSeconds(server.child.pid)
  await postAll(items, 64)
  const sent = await waitForSends(fakes, items.length, 300_000)
  const cpuUsed = cpuSeconds(server.child.pid) - cpuBefore
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

/**
 * Scenario 3: messages to one chat, answered in order. Since the send budget
 * (about one a second per chat after a short burst, as Telegram allows) a hot
 * chat is bounded by Telegram's limit, not by us, so 40 messages are enough.
 */
const hotChat = async (databaseUrl: string) => {
  const fakes = await startFakes(0)
  const [bot] = await seedBots(databaseUrl, 1, fakes)
  const server = await startServer(databaseUrl, fakes)
  const texts = Array.from({ length: 40 }, (_, i) => `hot ${i}`)
  const started = Date.now()
  await postAll(
    texts.map((text) => ({ baseUrl: server.baseUrl, bot: bot!, body: update(3_000_000, text) })),
    1
  )
  const sent = await waitForSends(fakes, texts.length, 120_000)
  const inOrder = sent.every(([, text], i) => text === `reply to: ${texts[i]}`)
  results.push({
    scenario: "3 one hot chat (40 messages, Telegram's ~1/s per chat)",
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

/**
 * `npm run bench -- knowledge-pgvector`: the knowledge scenario on a real pgvector: PGlite (PostgreSQL 18 in WebAssembly, one
 * session, one thread) with its pgvector build, over a loopback socket. Its timings are
 * PGlite's, not a PostgreSQL server's: they show the HNSW path working at 20,000 chunks.
 */
const knowledgeOnPgvector = () =>
  Effect.runPromise(
    Effect.gen(function* () {
      const { url, idle } = yield* PgliteVector.PgliteVector
      // Migrated, then closed: PGlite takes one connection, and the scenario opens its own.
      yield* Effect.scoped(
        Layer.build(Database.layer({ url: Option.some(url), dataDir: "", maxConnections: 1 }))
      )
      yield* idle
      return yield* Effect.promise(() => knowledge(Redacted.value(url), 1, " (PGlite + pgvector)"))
    }).pipe(Effect.provide(PgliteVector.layer), Effect.scoped, Effect.orDie)
  )

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
      ["mixed", () => mixed(databaseUrl)],
      ["tool-step", () => toolStep(databaseUrl)],
      ["viral-bot", () => viralBot(databaseUrl)],
      ["flood", () => flood(databaseUrl)],
      ["slow-model", () => slowModel(databaseUrl)],
      [
        "in-flight",
        async () => {
          results.push(...(await inFlight(databaseUrl)))
        }
      ],
      ["rate-limited", () => rateLimited(databaseUrl)],
      ["ingest", () => ingest(databaseUrl)],
      ["e2e", () => endToEnd(databaseUrl, 0, 5, "instant fakes (100 bots x 10 chats x 5)")],
      ["e2e-slow-llm", () => endToEnd(databaseUrl, 1000, 2, "LLM 1 s (100 bots x 10 chats x 2)")],
      ["hot", () => hotChat(databaseUrl)],
      ["rest", () => atRest(databaseUrl)],
      ["polling", () => pollingFleet(databaseUrl, 1_000)],
      ["polling-10k", () => pollingFleet(databaseUrl, 10_000)],
      [
        "scale",
        async () => {
          results.push(...(await scaleOut(databaseUrl)))
        }
      ],
      [
        "poll-clients",
        async () => {
          results.push(...(await pollClients()))
        }
      ],
      [
        "parts",
        async () => {
          results.push(...(await parts(databaseUrl)))
        }
      ],
      [
        "knowledge",
        async () => {
          results.push(...(await knowledge(databaseUrl)))
        }
      ],
      [
        "knowledge-pgvector",
        async () => {
          results.push(...(await knowledgeOnPgvector()))
        }
      ]
    ]
    for (const [name, run] of scenarios) {
      if (!wanted(name)) continue
      await resetDatabase(databaseUrl)
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
