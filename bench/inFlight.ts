/**
 * `npm run bench -- in-flight`: what a chat waiting on a streaming model costs
 * in memory, measured directly rather than inferred from two runs' peaks.
 * N chats (one message each) are posted to a server whose slots fit them all,
 * the model takes `BENCH_HOLD_MS` (20 s) to stream each answer, so once the
 * fake counts N requests open every chat is waiting mid-stream at once. The
 * server's RSS is read then (highest and lowest over 3 s, GC swings between
 * them) against the same server idle before the posts.
 *
 *   BENCH_IN_FLIGHT=1000 (chats)   BENCH_SERVER_ENV='{"PIPELINE_THREAD":"off"}' (a setting to try)
 */
import path from "node:path"
import {
  fakeStats,
  postAll,
  type Row,
  root,
  rssMb,
  seedBots,
  sleep,
  startFakes,
  startServer,
  stop,
  update
} from "./harness.ts"

export const inFlight = async (databaseUrl: string): Promise<Array<Row>> => {
  const chats = Number(process.env.BENCH_IN_FLIGHT ?? 1_000)
  const holdMillis = Number(process.env.BENCH_HOLD_MS ?? 20_000)
  const fakes = await startFakes(0, { streamMillis: holdMillis })
  const bots = await seedBots(databaseUrl, 50, fakes)
  // Slots for every chat, and no per-bot cap below its share of them.
  const server = await startServer(databaseUrl, fakes, {
    PIPELINE_CONCURRENCY: String(chats + 24),
    PIPELINE_MAX_CHATS_PER_BOT: String(Math.ceil(chats / bots.length)),
    ...(process.env.BENCH_HEAP_SNAPSHOT
      ? { NODE_OPTIONS: `--heapsnapshot-signal=SIGUSR2 --diagnostic-dir=${path.join(root, "bench/results")}` }
      : {})
  })
  const pid = server.child.pid!
  await sleep(3_000)
  const idle = rssMb(pid)
  const items = Array.from({ length: chats }, (_, i) => ({
    baseUrl: server.baseUrl,
    bot: bots[i % bots.length]!,
    body: update(8_000_000 + i, `waiting chat ${i}`)
  }))
  const started = Date.now()
  const { failures } = await postAll(items, 64)
  let open = 0
  while (Date.now() - started < holdMillis * 0.75) {
    open = (await fakeStats(fakes)).llmInFlight
    if (open >= chats) break
    await sleep(100)
  }
  const reachedSeconds = (Date.now() - started) / 1000
  const samples: Array<number> = []
  for (let i = 0; i < 30; i++) {
    samples.push(rssMb(pid))
    await sleep(100)
  }
  // BENCH_HEAP_SNAPSHOT=1 (with PIPELINE_THREAD off, so one heap holds every chat): a snapshot
  // of the server at the plateau, written to bench/results/ for the devtools' memory tab.
  if (process.env.BENCH_HEAP_SNAPSHOT) {
    process.kill(pid, "SIGUSR2")
    await sleep(Number(process.env.BENCH_HEAP_SNAPSHOT_WAIT_MS ?? 15_000))
  }
  const high = Math.max(...samples)
  const low = Math.min(...samples)
  await stop(server.child)
  fakes.child.stdin?.end()
  return [
    {
      scenario: `in-flight: ${chats} chats waiting on a model that streams for ${holdMillis / 1000} s`,
      "in flight": open,
      "all in flight after s": Math.round(reachedSeconds * 10) / 10,
      "idle RSS MB": idle,
      "RSS in flight MB (low-high)": `${low}-${high}`,
      "KB per chat (low)": Math.round(((low - idle) * 1024) / Math.max(1, open)),
      "KB per chat (high)": Math.round(((high - idle) * 1024) / Math.max(1, open)),
      failures
    }
  ]
}
