/**
 * The server killed hard (SIGKILL) three times in a row while traffic goes on,
 * each time started again on the same port and database. Webhook posts that
 * fail while it is down are sent again, as Telegram does. Every update is
 * answered, in order per chat; only sends in flight at a kill may repeat (at
 * most PIPELINE_CONCURRENCY per kill), and the repeats are reported.
 */

import { randomBytes } from "node:crypto"
import { BotRepositoryPg, SecretBoxAes } from "@botfleet/adapters"
import { Database } from "@botfleet/adapters/postgres"
import { FakeOpenAI, FakeTelegram, serverUrl, TestDatabase } from "@botfleet/testing"
import { assert, layer } from "@effect/vitest"
import { Effect, Fiber, Layer, Redacted } from "effect"
import { SqlClient } from "effect/sql"
import { insertActiveBot } from "../support/directBot.ts"
import {
  assertAnsweredInOrder,
  assertServing,
  botState,
  deliveryReport,
  expectedReplies,
  inboxState,
  metricValue,
  quietPeriod,
  replyState,
  scrapeMetrics,
  sendTraffic,
  waitForReplies
} from "../support/faultHarness.ts"
import { eventually } from "../support/inProcessServer.ts"
import { type ServerProcess, startServerProcess, waitUntilReady } from "../support/serverProcess.ts"

const CHATS = 12
const MESSAGES_PER_CHAT = 5
const KILLS = 3
const CONCURRENCY = 4
/** Replies sent by a (re)started process before it is killed again. */
const PROGRESS_BEFORE_KILL = 4
const SECRETS_KEY = randomBytes(32).toString("base64")

const storage = Layer.mergeAll(BotRepositoryPg.layer, SecretBoxAes.layer(Redacted.make(SECRETS_KEY))).pipe(
  Layer.provideMerge(TestDatabase.layer(serverUrl(), Database.layerAt)),
  Layer.orDie
)

layer(storage, { timeout: 120_000, excludeTestServices: true })("faults: SIGKILL", (it) => {
  it.effect(
    `killed hard ${KILLS} times under load: all answered, in order, repeats only from sends in flight`,
    () =>
      Effect.gen(function* () {
        const database = yield* TestDatabase.TestDatabase
        const sql = yield* SqlClient.SqlClient
        const telegram = yield* FakeTelegram.make()
        // Slow enough that several replies are in flight at each kill.
        const openai = yield* FakeOpenAI.make({ latencyMillis: 150, record: false })
        const { bot } = yield* insertActiveBot(telegram, "Killed")
        const env = {
          DATABASE_URL: Redacted.value(database.url),
          TELEGRAM_API_ROOT: telegram.apiRoot.toString(),
          OPENAI_BASE_URL: openai.baseUrl.toString(),
          OPENAI_API_KEY: "sk-test",
          SECRETS_KEY,
          LOG_LEVEL: "error",
          PIPELINE_CONCURRENCY: String(CONCURRENCY)
        }
        const processes: Array<ServerProcess> = []
        const start = (port?: number) =>
          Effect.gen(function* () {
            const server = yield* Effect.promise(() =>
              startServerProcess(port === undefined ? env : { ...env, PORT: String(port) })
            )
            processes.push(server)
            yield* Effect.promise(() => waitUntilReady(server))
            return server
          })
        // Whatever happens, no server is left running.
        yield* Effect.addFinalizer(() =>
          Effect.sync(() => {
            for (const server of processes) if (server.child.exitCode === null) server.child.kill("SIGKILL")
          })
        )
        let server = yield* start()
        const port = server.port
        const baseUrl = server.baseUrl

        const chats = Array.from({ length: CHATS }, (_, index) => 980_000 + index)
        const expected = expectedReplies("killed", chats, 1, MESSAGES_PER_CHAT)
        const total = CHATS * MESSAGES_PER_CHAT
        const sentSoFar = () =>
          deliveryReport(telegram, bot.telegramBotId, expected).chats.reduce(
            (n, chat) => n + chat.sent.length,
            0
          )
        const started = Date.now()

        // People keep writing, one message a second per chat, whether the server is up or not.
        const traffic = yield* Effect.forkChild(
          sendTraffic({
            baseUrl,
            bot,
            label: "killed",
            chats,
            from: 1,
            to: MESSAGES_PER_CHAT,
            spacingMs: 1_000
          })
        )
        const kills: Array<{ atMs: number; sentAtKill: number; downMs: number }> = []
        let sentAtStart = 0
        for (let kill = 1; kill <= KILLS; kill++) {
          yield* eventually(() => sentSoFar() >= sentAtStart + PROGRESS_BEFORE_KILL, 40_000)
          server.child.kill("SIGKILL")
          const exit = yield* Effect.promise(() => server.exited)
          assert.strictEqual(exit.signal, "SIGKILL")
          const killedAt = Date.now()
          const sentAtKill = sentSoFar()
          assert.isBelow(sentAtKill, total, `kill ${kill} happened mid-way`)
          server = yield* start(port)
          kills.push({ atMs: killedAt - started, sentAtKill, downMs: Date.now() - killedAt })
          sentAtStart = sentSoFar()
        }

        const failedPosts = yield* Fiber.join(traffic)
        // A dead process's chat leases run out (15 s) before the new process takes those chats.
        yield* waitForReplies(telegram, bot.telegramBotId, expected, 60_000)
        const elapsedMs = Date.now() - started
        yield* quietPeriod()

        const report = deliveryReport(telegram, bot.telegramBotId, expected)
        assertAnsweredInOrder(report, expected)
        // At most one send per chat being worked on can be in flight at a kill. (The kills
        // come right after sends are seen, so most of them land between a send and its record.)
        assert.isAtMost(report.repeats, KILLS * CONCURRENCY, `repeated: ${report.repeatedTexts.join(" | ")}`)
        assert.isAtLeast(failedPosts, 1, "posts failed while the server was down and were sent again")
        assert.strictEqual(server.child.exitCode, null, "the last process still runs")
        yield* assertServing(baseUrl)

        assert.deepInclude(yield* inboxState(sql, bot.id), { pending: 0, done: total, failed: 0 })
        // However often a reply was sent, it is stored once and marked sent.
        assert.deepStrictEqual(yield* replyState(sql, bot.id), {
          users: total,
          sent: total,
          pending: 0,
          failed: 0,
          withError: 0
        })
        assert.deepStrictEqual(yield* botState(sql, bot.id), { active: true, lastError: null })

        // Queue gauges are read from the database at scrape time: nothing waiting, nothing given up.
        const metrics = yield* scrapeMetrics(baseUrl)
        assert.strictEqual(metricValue(metrics, "pipeline_pending_updates"), 0)
        assert.strictEqual(metricValue(metrics, "pipeline_failed_updates"), 0)

        server.child.kill("SIGTERM")
        assert.deepStrictEqual(yield* Effect.promise(() => server.exited), { code: 0, signal: null })
        yield* Effect.logWarning("fault: sigkill x3", {
          updates: total,
          kills,
          failed_posts: failedPosts,
          repeated_sends: report.repeats,
          repeated: report.repeatedTexts,
          elapsed_ms: elapsedMs
        })
      }),
    120_000
  )
})
