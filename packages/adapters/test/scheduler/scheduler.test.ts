/**
 * The scheduler on real PostgreSQL: two schedulers on one database, each with
 * its own connection pool (as two processes would have), never run the same
 * tick twice; retention deletes only old done updates, in batches; history
 * retention deletes a bot's old messages in batches and leaves their tallies.
 */
import { type Job, JobRuns, Maintenance, Scheduler } from "@botfleet/application"
import { serverUrl, TestDatabase } from "@botfleet/testing"
import { assert, layer } from "@effect/vitest"
import { Context, Effect, Layer } from "effect"
import { SqlClient } from "effect/sql"
import * as Database from "../../src/postgres/Database.ts"
import * as JobRunsPg from "../../src/scheduler/JobRunsPg.ts"
import * as MaintenancePg from "../../src/scheduler/MaintenancePg.ts"

const database = TestDatabase.layer(serverUrl(), Database.layerAt)
const stores = Layer.mergeAll(JobRunsPg.layer, MaintenancePg.layer).pipe(Layer.provideMerge(database))

/** JobRuns on a second pool of the same database: another process, as far as PostgreSQL can tell. */
const otherProcess = Effect.gen(function* () {
  const { url } = yield* TestDatabase.TestDatabase
  return yield* Layer.build(JobRunsPg.layer.pipe(Layer.provide(Database.layerAt(url))))
})

const botId = "00000000-0000-4000-8000-000000000001"

layer(stores, { timeout: 60_000, excludeTestServices: true })("scheduler on PostgreSQL", (it) => {
  it.effect("of many concurrent claims of one tick from two pools, exactly one wins", () =>
    Effect.gen(function* () {
      const here = yield* JobRuns
      const there = Context.get(yield* otherProcess, JobRuns)
      const tick = new Date("2026-01-01T00:00:00Z")
      const claims = yield* Effect.all(
        Array.from({ length: 20 }, (_, i) =>
          (i % 2 === 0 ? here : there).claim("race", tick, `owner-${i}`, 60)
        ),
        { concurrency: "unbounded" }
      )
      assert.strictEqual(claims.filter(Boolean).length, 1)
    }).pipe(Effect.scoped)
  )

  it.effect("a tick is refused while an earlier run of the job is still running, then allowed", () =>
    Effect.gen(function* () {
      const runs = yield* JobRuns
      const first = new Date("2026-01-01T00:00:00Z")
      const second = new Date("2026-01-01T00:01:00Z")
      assert.isTrue(yield* runs.claim("slow", first, "a", 60))
      assert.isFalse(yield* runs.claim("slow", second, "b", 60), "the first run is still going")
      yield* runs.finish("slow", first, "ok", 1234, "done")
      assert.isTrue(yield* runs.claim("slow", second, "b", 60))
      const latest = (yield* runs.latest).find((run) => run.job === "slow")
      assert.strictEqual(latest?.tick.toISOString(), second.toISOString())
      assert.strictEqual(latest?.outcome, "running")
    })
  )

  it.effect("two schedulers looping on one database run each tick once", () =>
    Effect.gen(function* () {
      const executions: Array<string> = []
      const job = (who: string): Job => ({
        name: "every-second",
        everySeconds: 1,
        timeoutSeconds: 5,
        run: Effect.sync(() => {
          executions.push(who)
          return who
        })
      })
      const a = yield* Scheduler.make([job("a")], "process-a")
      const other = yield* otherProcess
      const b = yield* Scheduler.make([job("b")], "process-b").pipe(Effect.provide(other))
      const loop = (scheduler: Scheduler["Service"]) =>
        scheduler.runDue.pipe(Effect.andThen(Effect.sleep("20 millis")), Effect.forever)
      yield* Effect.all([loop(a), loop(b)], { concurrency: 2 }).pipe(Effect.timeoutOption("3500 millis"))
      const sql = yield* SqlClient.SqlClient
      const rows = yield* sql<{ tick: Date; outcome: string }>`
        SELECT tick, outcome FROM job_runs WHERE job = 'every-second' ORDER BY tick`
      assert.isAtLeast(executions.length, 3, "it ran on several ticks")
      assert.strictEqual(executions.length, rows.length, "one execution per recorded tick, none twice")
      assert.deepStrictEqual(
        rows.map((row) => row.outcome),
        rows.map(() => "ok")
      )
      const status = (yield* a.status).find((item) => item.name === "every-second")
      assert.strictEqual(status?.lastRun?.tick.toISOString(), rows.at(-1)?.tick.toISOString())
    }).pipe(Effect.scoped)
  )

  it.effect("a failing job is recorded as failed with its error; its tick is not run again", () =>
    Effect.gen(function* () {
      const failing: Job = {
        name: "broken",
        everySeconds: 60,
        timeoutSeconds: 5,
        run: Effect.fail("disk on fire")
      }
      const scheduler = yield* Scheduler.make([failing], "p")
      assert.deepStrictEqual(yield* scheduler.runDue, ["broken"])
      assert.deepStrictEqual(yield* scheduler.runDue, [], "the same tick is not run again")
      const [status] = yield* scheduler.status
      assert.strictEqual(status?.lastRun?.outcome, "failed")
      assert.include(status?.lastRun?.detail ?? "", "disk on fire")
    })
  )

  it.effect("retention deletes done updates older than the cut-off, in batches, and nothing else", () =>
    Effect.gen(function* () {
      const sql = yield* SqlClient.SqlClient
      const maintenance = yield* Maintenance
      yield* sql`
        INSERT INTO bots (id, name, token_ciphertext, token_hint, telegram_bot_id, username, webhook_secret)
        VALUES (${botId}, 'Retained', 'x', 'x', 1, 'retained_bot', 's')`
      // 25 old done, 5 recent done, 3 old pending, 2 old failed.
      yield* sql`
        INSERT INTO telegram_updates (bot_id, update_id, chat_key, payload, status, received_at, processed_at)
        SELECT ${botId}, n, 'k:' || n, '{}',
          CASE WHEN n <= 30 THEN 'done' WHEN n <= 33 THEN 'pending' ELSE 'failed' END,
          now() - interval '30 days',
          CASE WHEN n <= 25 THEN now() - interval '10 days'
               WHEN n <= 30 THEN now() - interval '1 day'
               WHEN n <= 33 THEN NULL
               ELSE now() - interval '10 days' END
        FROM generate_series(1, 35) n`
      const before = new Date(Date.now() - 7 * 86_400_000)
      assert.strictEqual(yield* maintenance.purgeDoneUpdates(before, 10), 10)
      assert.strictEqual(yield* maintenance.purgeDoneUpdates(before, 10), 10)
      assert.strictEqual(yield* maintenance.purgeDoneUpdates(before, 10), 5)
      assert.strictEqual(yield* maintenance.purgeDoneUpdates(before, 10), 0)
      const left = yield* sql<{ status: string; count: number }>`
        SELECT status, count(*)::int AS count FROM telegram_updates GROUP BY status ORDER BY status`
      assert.deepStrictEqual(
        left.map((row) => [row.status, row.count]),
        [
          ["done", 5],
          ["failed", 2],
          ["pending", 3]
        ]
      )
    })
  )

  it.effect("the watchdog's helpers: stale leases are cleared, live ones kept", () =>
    Effect.gen(function* () {
      const sql = yield* SqlClient.SqlClient
      const maintenance = yield* Maintenance
      yield* sql`
        INSERT INTO chat_leases (chat_key, owner, expires_at) VALUES
          ('dead', 'gone', now() - interval '5 minutes'),
          ('just-expired', 'slow', now() - interval '5 seconds'),
          ('live', 'here', now() + interval '10 seconds')`
      assert.strictEqual((yield* maintenance.leaseHealth).expired, 2)
      assert.strictEqual(yield* maintenance.clearExpiredLeases(60), 1)
      const keys = yield* sql<{ chat_key: string }>`SELECT chat_key FROM chat_leases ORDER BY chat_key`
      assert.deepStrictEqual(
        keys.map((row) => row.chat_key),
        ["just-expired", "live"]
      )
    })
  )

  it.effect(
    "history purge: oldest first in batches, one bot only, a tally per message, a kept reply unlinked",
    () =>
      Effect.gen(function* () {
        const sql = yield* SqlClient.SqlClient
        const maintenance = yield* Maintenance
        const purged = "00000000-0000-4000-8000-0000000000a1"
        const kept = "00000000-0000-4000-8000-0000000000a2"
        yield* sql`
        INSERT INTO bots (id, name, token_ciphertext, token_hint, telegram_bot_id, username, webhook_secret,
          history_retention_days)
        VALUES (${purged}, 'purged', 'c', 'h', 9101, 'purged_bot', 's', 2),
               (${kept}, 'kept', 'c', 'h', 9102, 'kept_bot', 's', NULL)`
        yield* sql`
        INSERT INTO chats (id, bot_id, telegram_chat_id, type)
        VALUES ('00000000-0000-4000-8000-0000000000c1', ${purged}, 1, 'private'),
               ('00000000-0000-4000-8000-0000000000c2', ${kept}, 2, 'private')`
        // 600 questions a minute apart for each bot, each answered a second later; the last one's
        // reply comes after the cut-off, so it is kept while its question goes.
        const origin = new Date("2026-01-01T00:00:00Z")
        yield* sql`
        INSERT INTO messages (id, chat_id, bot_id, role, text, thread, status, created_at)
        SELECT md5(b.bot || 'q' || i)::uuid, b.chat, b.bot, 'user', 'q' || i, 1, 'received',
          ${origin}::timestamptz + i * interval '1 minute'
        FROM generate_series(1, 600) i,
          (VALUES (${purged}::uuid, '00000000-0000-4000-8000-0000000000c1'::uuid),
                  (${kept}::uuid, '00000000-0000-4000-8000-0000000000c2'::uuid)) b (bot, chat)`
        yield* sql`
        INSERT INTO messages (id, chat_id, bot_id, role, text, thread, reply_to, input_tokens, output_tokens,
          cost_usd, status, created_at, sent_at)
        SELECT md5(id::text || 'r')::uuid, chat_id, bot_id, 'assistant', 'a', 1, id, 10, 5, 0.0001, 'sent',
          created_at + CASE WHEN text = 'q600' THEN interval '1 hour' ELSE interval '1 second' END,
          created_at + interval '2 seconds'
        FROM messages WHERE role = 'user'`
        const cutoff = new Date(origin.getTime() + 600 * 60_000 + 1)
        // Running summaries: one wholly before the cut-off, one covering the late reply after it.
        yield* sql`
        INSERT INTO thread_summaries (id, bot_id, chat_id, thread, covers_up_to, covers_up_to_at, text, model,
          charged_to)
        VALUES (gen_random_uuid(), ${purged}, '00000000-0000-4000-8000-0000000000c1', 1, gen_random_uuid(),
                  ${origin}::timestamptz + interval '300 minutes', 'old', 'm', gen_random_uuid()),
               (gen_random_uuid(), ${purged}, '00000000-0000-4000-8000-0000000000c1', 1, gen_random_uuid(),
                  ${cutoff}::timestamptz + interval '1 hour', 'late', 'm', gen_random_uuid()),
               (gen_random_uuid(), ${kept}, '00000000-0000-4000-8000-0000000000c2', 1, gen_random_uuid(),
                  ${origin}::timestamptz, 'kept', 'm', gen_random_uuid())`

        assert.deepStrictEqual(yield* maintenance.retentionBots, [{ botId: purged, days: 2 }])
        const batches = [yield* maintenance.purgeMessages(purged, cutoff, 500)]
        const [order] = yield* sql<{ oldest_left: Date; newest_tallied: Date }>`
          SELECT (SELECT min(created_at) FROM messages WHERE bot_id = ${purged}) AS oldest_left,
            (SELECT max(created_at) FROM message_tallies WHERE bot_id = ${purged}) AS newest_tallied`
        assert.isBelow(order!.newest_tallied.getTime(), order!.oldest_left.getTime(), "oldest first")
        for (;;) {
          const count = yield* maintenance.purgeMessages(purged, cutoff, 500)
          batches.push(count)
          if (count < 500) break
        }
        assert.deepStrictEqual(batches, [500, 500, 199], "1,199 messages: all but the late reply")
        const [left] = yield* sql<{ purged: number; kept: number; tallies: number; cost: number }>`
        SELECT (SELECT count(*)::int FROM messages WHERE bot_id = ${purged}) AS purged,
          (SELECT count(*)::int FROM messages WHERE bot_id = ${kept}) AS kept,
          (SELECT count(*)::int FROM message_tallies WHERE bot_id = ${purged}) AS tallies,
          (SELECT sum(cost_usd)::float8 FROM message_tallies WHERE bot_id = ${purged}) AS cost`
        assert.deepStrictEqual(left, { purged: 1, kept: 1200, tallies: 1199, cost: 0.0599 })
        const [late] = yield* sql<{ text: string; reply_to: string | null }>`
        SELECT text, reply_to FROM messages WHERE bot_id = ${purged}`
        assert.deepStrictEqual(late, { text: "a", reply_to: null })
        const latencies = yield* sql<{ latency_ms: number | null; n: number }>`
        SELECT latency_ms, count(*)::int AS n FROM message_tallies
        WHERE bot_id = ${purged} AND role = 'user' GROUP BY latency_ms ORDER BY latency_ms`
        assert.deepStrictEqual(
          latencies,
          [{ latency_ms: 2000, n: 600 }],
          "each question keeps its reply's latency"
        )
        assert.strictEqual(yield* maintenance.purgeMessages(purged, cutoff, 500), 0)
        const summaries = yield* sql<{ text: string }>`SELECT text FROM thread_summaries ORDER BY text`
        assert.deepStrictEqual(
          summaries.map((row) => row.text),
          ["kept", "late"],
          "a summary of deleted messages only goes with them"
        )
      })
  )
})
