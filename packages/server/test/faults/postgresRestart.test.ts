/**
 * PostgreSQL restarted under load: the server runs as a child process on a
 * PostgreSQL of this test's own (embedded, persistent, on a fixed port), which
 * is stopped mid-flight, kept down ~2 s and started again on the same port and
 * data. The database runs in a helper process (support/postgresProcess.ts)
 * because startEmbeddedPostgres cannot start twice in one process (the BUG
 * test below). Webhook posts that fail meanwhile are sent again, as Telegram does.
 * Everything is answered, in order; /ready says 503 while the database is
 * down and 200 after; the process never exits.
 */
import { randomBytes } from "node:crypto"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import path from "node:path"
import { BotRepositoryPg, SecretBoxAes } from "@botfleet/adapters"
import { Database, freePort, startEmbeddedPostgres } from "@botfleet/adapters/postgres"
import { FakeOpenAI, FakeTelegram } from "@botfleet/testing"
import { assert, it } from "@effect/vitest"
import { Effect, Exit, Fiber, Layer, Option, Redacted, Scope } from "effect"
import { SqlClient } from "effect/sql"
import { insertActiveBot } from "../support/directBot.ts"
import {
  assertAnsweredInOrder,
  assertServing,
  botState,
  deliveryReport,
  expectedReplies,
  httpStatus,
  inboxState,
  metricValue,
  quietPeriod,
  replyState,
  scrapeMetrics,
  sendTraffic,
  waitForReplies
} from "../support/faultHarness.ts"
import { eventually } from "../support/inProcessServer.ts"
import { startPostgresProcess } from "../support/postgresProcess.ts"
import { startServerProcess, waitUntilReady } from "../support/serverProcess.ts"

const CHATS = 10
/** Messages 1..5 of each chat are written across the outage; 6..7 after it. */
const DURING = 5
const AFTER = 7
const CONCURRENCY = 8
const DOWN_MS = 2_000
const SECRETS_KEY = randomBytes(32).toString("base64")

const sleep = (millis: number) => Effect.promise(() => new Promise((resolve) => setTimeout(resolve, millis)))

it.live(
  "PostgreSQL stopped for ~2 s under load and started again: all answered in order, /ready 503 then 200, no exit",
  () =>
    Effect.gen(function* () {
      const dataDir = mkdtempSync(path.join(tmpdir(), "botfleet-faults-pg-"))
      yield* Effect.addFinalizer(() => Effect.sync(() => rmSync(dataDir, { recursive: true, force: true })))
      const port = yield* freePort
      // The database runs in a process of its own so the test can stop and start
      // it; the finalizer stops whichever instance runs at the end.
      let database = yield* Effect.promise(() => startPostgresProcess(dataDir, port))
      yield* Effect.addFinalizer(() => Effect.promise(() => database.stop()))
      const url = Redacted.make(database.url)
      /** A short-lived pool: the test's own connections must not outlive a restart. */
      const withSql = <A, E>(use: (sql: SqlClient.SqlClient) => Effect.Effect<A, E>) =>
        Effect.gen(function* () {
          return yield* use(yield* SqlClient.SqlClient)
        }).pipe(Effect.provide(Database.clientLayer(url, 2)), Effect.orDie)

      const telegram = yield* FakeTelegram.make()
      // Slow enough that replies are in flight when the database goes.
      const openai = yield* FakeOpenAI.make({ latencyMillis: 100, record: false })
      // Migrated once here, as `npm run migrate` would; the bot is inserted directly.
      const { bot } = yield* insertActiveBot(telegram, "Restarted").pipe(
        Effect.provide(
          Layer.mergeAll(BotRepositoryPg.layer, SecretBoxAes.layer(Redacted.make(SECRETS_KEY))).pipe(
            Layer.provideMerge(Database.layer({ url: Option.some(url), dataDir: "" }))
          )
        ),
        Effect.orDie
      )

      const server = yield* Effect.acquireRelease(
        Effect.promise(() =>
          startServerProcess({
            DATABASE_URL: Redacted.value(url),
            TELEGRAM_API_ROOT: telegram.apiRoot.toString(),
            OPENAI_BASE_URL: openai.baseUrl.toString(),
            OPENAI_API_KEY: "sk-test",
            SECRETS_KEY,
            LOG_LEVEL: "error",
            PIPELINE_CONCURRENCY: String(CONCURRENCY)
          })
        ),
        (child) => Effect.sync(() => child.child.exitCode === null && child.child.kill("SIGKILL"))
      )
      yield* Effect.promise(() => waitUntilReady(server))
      let exitedEarly: string | undefined
      void server.exited.then((exit) => {
        exitedEarly = JSON.stringify(exit)
      })

      const chats = Array.from({ length: CHATS }, (_, index) => 970_000 + index)
      const expected = expectedReplies("pg", chats, 1, AFTER)
      const total = CHATS * AFTER
      const sentSoFar = () =>
        deliveryReport(telegram, bot.telegramBotId, expected).chats.reduce((n, c) => n + c.sent.length, 0)
      const started = Date.now()

      // Each chat writes 5 messages 600 ms apart: the outage falls in the middle of them.
      const during = yield* Effect.forkChild(
        sendTraffic({ baseUrl: server.baseUrl, bot, label: "pg", chats, from: 1, to: DURING, spacingMs: 600 })
      )
      yield* eventually(() => sentSoFar() >= 5, 20_000)

      // Down.
      yield* Effect.promise(() => database.stop())
      const stoppedAt = Date.now()
      const sentAtStop = sentSoFar()
      const readyWhileDown: Array<number> = []
      const healthWhileDown: Array<number> = []
      while (Date.now() - stoppedAt < DOWN_MS || !readyWhileDown.includes(503)) {
        if (Date.now() - stoppedAt > 15_000) break
        readyWhileDown.push(yield* Effect.promise(() => httpStatus(`${server.baseUrl}/ready`)))
        healthWhileDown.push(yield* Effect.promise(() => httpStatus(`${server.baseUrl}/health`)))
        yield* sleep(100)
      }
      const downMs = Date.now() - stoppedAt

      // Up again, same port, same data.
      database = yield* Effect.promise(() => startPostgresProcess(dataDir, port))
      const restartedAt = Date.now()
      const readyAgain = yield* Effect.promise(async () => {
        while (Date.now() - restartedAt < 30_000) {
          if ((await httpStatus(`${server.baseUrl}/ready`)) === 200) return Date.now() - restartedAt
          await new Promise((resolve) => setTimeout(resolve, 50))
        }
        return -1
      })
      assert.isAtLeast(readyAgain, 0, `/ready is 200 again after the restart:\n${server.output()}`)

      const failedPostsDuring = yield* Fiber.join(during)
      const failedPostsAfter = yield* sendTraffic({
        baseUrl: server.baseUrl,
        bot,
        label: "pg",
        chats,
        from: DURING + 1,
        to: AFTER
      })
      // Chats whose lease was held when the database went wait for it to run out (15 s).
      yield* waitForReplies(telegram, bot.telegramBotId, expected, 60_000)
      const elapsedMs = Date.now() - started
      yield* quietPeriod()

      assert.include(readyWhileDown, 503, "/ready said 503 while the database was down")
      assert.deepStrictEqual(
        [...new Set(healthWhileDown)],
        [200],
        "/health kept answering while the database was down"
      )
      assert.isAtLeast(failedPostsDuring, 1, "webhook posts failed during the outage and were sent again")
      assert.strictEqual(failedPostsAfter, 0, "the webhook works after the restart")
      assert.isUndefined(exitedEarly, `the process never exited:\n${server.output()}`)
      assert.strictEqual(server.child.exitCode, null)
      yield* assertServing(server.baseUrl)

      const report = deliveryReport(telegram, bot.telegramBotId, expected)
      assertAnsweredInOrder(report, expected)
      // Only a send whose record could not be written (the database went away) may repeat: one per chat at most.
      assert.isAtMost(
        report.repeats,
        Math.min(CHATS, CONCURRENCY),
        `repeated: ${report.repeatedTexts.join(" | ")}`
      )

      const state = yield* withSql((sql) =>
        Effect.all({
          inbox: inboxState(sql, bot.id),
          replies: replyState(sql, bot.id),
          bot: botState(sql, bot.id)
        })
      )
      assert.deepInclude(state.inbox, { pending: 0, done: total, failed: 0 })
      assert.deepStrictEqual(state.replies, {
        users: total,
        sent: total,
        pending: 0,
        failed: 0,
        withError: 0
      })
      assert.deepStrictEqual(state.bot, { active: true, lastError: null })

      // Queue gauges are read from the database at scrape time: nothing waiting, nothing given up.
      const metrics = yield* scrapeMetrics(server.baseUrl)
      assert.strictEqual(metricValue(metrics, "pipeline_pending_updates"), 0)
      assert.strictEqual(metricValue(metrics, "pipeline_failed_updates"), 0)
      assert.isAbove(metricValue(metrics, "telegram_updates_received_total", { bot: bot.id }), 0)

      server.child.kill("SIGTERM")
      const exit = yield* Effect.promise(() => server.exited)
      assert.deepStrictEqual(
        exit,
        { code: 0, signal: null },
        `a clean shutdown after all that:\n${server.output()}`
      )
      yield* Effect.logWarning("fault: postgres restart", {
        updates: total,
        sent_at_stop: sentAtStop,
        down_ms: downMs,
        ready_after_restart_ms: readyAgain,
        ready_while_down: [...new Set(readyWhileDown)],
        failed_posts: failedPostsDuring,
        reschedules: state.inbox.reschedules,
        repeated_sends: report.repeats,
        elapsed_ms: elapsedMs
      })
    }),
  120_000
)

// EmbeddedPostgres.ts calls releaseSignalHandlers() on every start, and
// releaseSignalHandlers.ts unhooks async-exit-hook's events unconditionally:
// the second time `events[event]` is undefined and process.removeListener
// throws ERR_INVALID_ARG_TYPE, so a process cannot start an embedded
// PostgreSQL again (e.g. after stopping one). Fix: unhook only what is still
// hooked (`exitHook.hookedEvents()`), or release once per process.
it.live(
  "BUG: startEmbeddedPostgres can start a second server in the same process",
  () =>
    Effect.gen(function* () {
      for (const name of ["first", "second"]) {
        const dataDir = mkdtempSync(path.join(tmpdir(), `botfleet-faults-${name}-`))
        yield* Effect.addFinalizer(() => Effect.sync(() => rmSync(dataDir, { recursive: true, force: true })))
        const scope = yield* Scope.make()
        const started = yield* startEmbeddedPostgres({ dataDir, ephemeral: true }).pipe(
          Scope.provide(scope),
          Effect.exit
        )
        yield* Scope.close(scope, Exit.void)
        assert.isTrue(Exit.isSuccess(started), `the ${name} server started: ${String(started)}`)
      }
    }),
  60_000
)
