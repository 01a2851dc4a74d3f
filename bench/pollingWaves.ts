/**
 * `npx node bench/pollingWaves.ts`: the polling fleet's 50 cold replies, then what
 * of them is a process's first time. After the fleet has been at rest, three
 * waves of one message to each of 50 bots spread over the fleet, 3 s apart:
 * the first (cold: nothing has replied yet in this process), the same bots in
 * new chats (code and the bots' caches warm), 50 other bots (code warm, their
 * caches cold). Each wave prints p50/p99 from the update queued at the fake
 * to the reply, and the server's CPU (user + system, both threads) over it:
 * on a shared machine the CPU says more than the latency, which moves with
 * whatever else runs (the pipeline thread runs at nice 10).
 *
 *   BENCH_BOTS=1000   BENCH_REST_S=10 (seconds at rest after every bot has polled)
 *   BENCH_PROFILE=1 (a CPU profile of each thread in bench/results/)
 */
import { mkdtempSync } from "node:fs"
import os from "node:os"
import path from "node:path"
import { Database, startEmbeddedPostgres } from "@botfleet/adapters/postgres"
import { Effect, Exit, Layer, Option, Redacted, Scope } from "effect"
import {
  callCounts,
  cpuSeconds,
  percentile,
  pushUpdates,
  rssMb,
  seedBots,
  sleep,
  startFakes,
  startServer,
  stop,
  update,
  waitForSends
} from "./harness.ts"

const count = Number(process.env.BENCH_BOTS ?? 1000)
const scope = Effect.runSync(Scope.make())
const dataDir = mkdtempSync(path.join(os.tmpdir(), "botfleet-bench-"))
const pg = await Effect.runPromise(
  startEmbeddedPostgres({ dataDir, ephemeral: true }).pipe(Scope.provide(scope))
)
await Effect.runPromise(
  Effect.scoped(Layer.build(Database.layer({ url: Option.some(pg.url), dataDir, maxConnections: 2 }))).pipe(
    Effect.orDie
  )
)
const fakes = await startFakes(0)
const bots = await seedBots(Redacted.value(pg.url), count, fakes)
const server = await startServer(Redacted.value(pg.url), fakes, { PUBLIC_URL: "" })
while (((await callCounts(fakes)).getUpdates ?? 0) < count) await sleep(500)
await sleep(Number(process.env.BENCH_REST_S ?? 10) * 1000)

const step = Math.floor(count / 50)
let total = 0
const wave = async (label: string, offset: number, chatBase: number) => {
  const chosen = bots.filter((_, i) => i % step === offset).slice(0, 50)
  const chats = new Set(chosen.map((_, i) => chatBase + i))
  const cpu = cpuSeconds(server.child.pid)
  const { time } = await pushUpdates(
    fakes,
    chosen.map((bot, i) => ({ token: bot.token, update: update(chatBase + i, `${label} ${i}`) }))
  )
  total += chosen.length
  const sent = (await waitForSends(fakes, total, 60_000)).filter(([chat]) => chats.has(chat))
  const used = Math.round((cpuSeconds(server.child.pid) - cpu) * 1000)
  const latencies = sent.map(([, , at]) => at - time)
  const load = os
    .loadavg()
    .map((value) => value.toFixed(2))
    .join(" ")
  console.log(
    `${new Date().toISOString().slice(11, 19)} ${label}: ${sent.length} replies, p50 ${percentile(latencies, 50)} / p99 ${percentile(latencies, 99)} ms, server CPU ${used} ms, RSS ${rssMb(server.child.pid!)} MB, load ${load}`
  )
  await sleep(3000)
}
await wave("cold", 0, 6_000_000)
await wave("same bots, new chats", 0, 7_000_000)
await wave("other bots", 1, 8_000_000)
await stop(server.child)
fakes.child.stdin?.end()
await Effect.runPromise(Scope.close(scope, Exit.void))
process.exit(0)
