/**
 * Retention under load: does purging a million done inbox rows
 * stall ingest? Fills `telegram_updates` with 1,000,000 done rows 30 days old
 * (one INSERT … SELECT generate_series), measures webhook acknowledgements
 * alone, then again while the retention job's statement (MaintenancePg, 1,000
 * rows per DELETE, 20 ms apart, as the job runs it) deletes them all.
 *
 *   node --import tsx bench/retention.ts [rows]
 *
 * The server runs with INBOX_RETENTION_DAYS=3650 so its own job stays out of
 * the way; the purge runs in this process at the job's pace, without the
 * job's 100,000-rows-a-minute cap, so the whole million goes in one go.
 */
import { mkdtempSync } from "node:fs"
import os from "node:os"
import path from "node:path"
import { MaintenancePg } from "@botfleet/adapters"
import { Database, startEmbeddedPostgres } from "@botfleet/adapters/postgres"
import { Maintenance, RETENTION_BATCH } from "@botfleet/application"
import { Effect, Layer, Option, Redacted, Scope } from "effect"
import { SqlClient } from "effect/sql"
import { percentile, postAll, seedBots, sleep, startFakes, startServer, stop, update } from "./harness.ts"

const rows = Number(process.argv[2] ?? 1_000_000)

// On a loaded machine a readiness probe sent while the server was starting hung for good;
// give every request of this driver a deadline so such a probe is simply retried.
const untimedFetch = globalThis.fetch
globalThis.fetch = (input, init) => untimedFetch(input, { signal: AbortSignal.timeout(10_000), ...init })
const CONCURRENCY = 16

const main = async () => {
  const scope = Effect.runSync(Scope.make())
  const dataDir = mkdtempSync(path.join(os.tmpdir(), "botfleet-retention-"))
  const pg = await Effect.runPromise(
    startEmbeddedPostgres({ dataDir, ephemeral: true }).pipe(Scope.provide(scope))
  )
  const databaseUrl = Redacted.value(pg.url)
  const db = Layer.mergeAll(MaintenancePg.layer).pipe(
    Layer.provideMerge(Database.layer({ url: Option.some(pg.url), dataDir, maxConnections: 2 }))
  )
  const run = <A>(effect: Effect.Effect<A, unknown, SqlClient.SqlClient | Maintenance>) =>
    Effect.runPromise(effect.pipe(Effect.provide(db), Effect.orDie) as Effect.Effect<A>)

  // Migrate once before anything else uses the database.
  await run(Effect.void)
  console.error("retention bench: database migrated")
  const fakes = await startFakes(0)
  const [bot] = await seedBots(databaseUrl, 1, fakes)
  console.error("retention bench: bot seeded, starting the server")
  const server = await startServer(databaseUrl, fakes, { INBOX_RETENTION_DAYS: "3650" })
  console.error("retention bench: server ready, filling the inbox")

  // A payload of a typical size (a short private text message, ~350 bytes).
  const payload = JSON.stringify(update(1, "a typical message of a few words, as people write them"))
  let started = performance.now()
  await run(
    Effect.gen(function* () {
      const sql = yield* SqlClient.SqlClient
      yield* sql`
        INSERT INTO telegram_updates (bot_id, update_id, chat_key, payload, status, attempts, received_at, processed_at)
        SELECT ${bot!.id}, 100000000 + n, ${bot!.id} || ':' || (n % 1000), ${payload}::jsonb, 'done', 1,
               now() - interval '30 days', now() - interval '30 days'
        FROM generate_series(1, ${rows}) n`
      yield* sql`ANALYZE telegram_updates`
    })
  )
  const fillSeconds = (performance.now() - started) / 1000

  let chat = 0
  const items = (count: number) =>
    Array.from({ length: count }, () => ({
      baseUrl: server.baseUrl,
      bot: bot!,
      body: update(2_000_000 + (chat++ % 2000), "hello during retention")
    }))

  // Baseline: the same load with nothing being purged.
  await postAll(items(500), CONCURRENCY)
  started = performance.now()
  const baseline = await postAll(items(4000), CONCURRENCY)
  const baselineSeconds = (performance.now() - started) / 1000

  // The purge at the job's pace, and webhook posts until it is done.
  const before = new Date(Date.now() - 7 * 86_400_000)
  let purging = true
  let deleted = 0
  const purgeStarted = performance.now()
  const purge = run(
    Effect.gen(function* () {
      const maintenance = yield* Maintenance
      while (true) {
        const count = yield* maintenance.purgeDoneUpdates(before, RETENTION_BATCH)
        deleted += count
        if (count < RETENTION_BATCH) break
        yield* Effect.sleep("20 millis")
      }
    })
  ).then(() => {
    purging = false
  })
  const during: Array<number> = []
  let failures = 0
  started = performance.now()
  let posted = 0
  while (purging) {
    const batch = await postAll(items(200), CONCURRENCY)
    during.push(...batch.latencies)
    failures += batch.failures
    posted += 200
  }
  const duringSeconds = (performance.now() - started) / 1000
  await purge
  const purgeSeconds = (performance.now() - purgeStarted) / 1000
  const [left] = await run(
    Effect.gen(function* () {
      const sql = yield* SqlClient.SqlClient
      return yield* sql<{ old: number }>`
        SELECT count(*)::int AS old FROM telegram_updates WHERE processed_at < ${before}`
    })
  )

  const load = os.loadavg().map((value) => value.toFixed(2))
  console.log(
    JSON.stringify(
      {
        rows,
        fillSeconds: Math.round(fillSeconds * 10) / 10,
        purge: {
          deleted,
          leftOlderThanCutoff: left?.old,
          seconds: Math.round(purgeSeconds * 10) / 10,
          rowsPerSecond: Math.round(deleted / purgeSeconds)
        },
        acksBaseline: {
          count: baseline.latencies.length,
          perSecond: Math.round(baseline.latencies.length / baselineSeconds),
          p50_ms: percentile(baseline.latencies, 50),
          p95_ms: percentile(baseline.latencies, 95),
          p99_ms: percentile(baseline.latencies, 99),
          failures: baseline.failures
        },
        acksDuringPurge: {
          count: posted,
          perSecond: Math.round(posted / duringSeconds),
          p50_ms: percentile(during, 50),
          p95_ms: percentile(during, 95),
          p99_ms: percentile(during, 99),
          max_ms: Math.round(Math.max(...during)),
          failures
        },
        machine: { cpus: os.cpus().length, loadAverage1m5m15m: load }
      },
      null,
      2
    )
  )
  await stop(server.child)
  fakes.child.stdin?.end()
  await sleep(100)
  await Effect.runPromise(Scope.close(scope, { _tag: "Success", value: undefined } as never))
}

main().then(
  () => process.exit(0),
  (error) => {
    console.error(error)
    process.exit(1)
  }
)
