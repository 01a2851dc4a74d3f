/**
 * A clean drain and the pipeline thread, on real server
 * processes as `npm start` runs them. Two processes share a database; the
 * first is stopped with SIGTERM while replies are in flight. It claims no new
 * chat, finishes the replies it is making, hands every lease back and exits,
 * so the second one carries on at once: each update is answered exactly once,
 * in order, and no chat waits for a lease to run out.
 */
import { FakeOpenAI, FakeTelegram, TestDatabase } from "@botfleet/testing"
import { assert, layer } from "@effect/vitest"
import { Effect } from "effect"
import { SqlClient } from "effect/sql"
import { insertActiveBot } from "./support/directBot.ts"
import { eventually, postUpdate, textUpdate } from "./support/inProcessServer.ts"
import { newSecretsKey, processEnv, processStorage } from "./support/processFixture.ts"
import { startServerProcess, waitUntilReady } from "./support/serverProcess.ts"

const CHATS = 16
const MESSAGES_PER_CHAT = 4
const SECRETS_KEY = newSecretsKey()

const storage = processStorage(SECRETS_KEY)

/** The value of one series in Prometheus text, 0 when absent. */
const sample = (text: string, series: RegExp) =>
  text
    .split("\n")
    .filter((line) => series.test(line))
    .reduce((sum, line) => sum + Number(line.slice(line.lastIndexOf(" ") + 1)), 0)

layer(storage, { timeout: 180_000, excludeTestServices: true })("drain", (it) => {
  it.effect(
    "SIGTERM under load with a second process running: every update answered once, in order, no lease left behind",
    () =>
      Effect.gen(function* () {
        const database = yield* TestDatabase.TestDatabase
        const sql = yield* SqlClient.SqlClient
        const telegram = yield* FakeTelegram.make()
        // Slow enough that replies are in flight when SIGTERM arrives.
        const openai = yield* FakeOpenAI.make({ latencyMillis: 400 })
        const { bot } = yield* insertActiveBot(telegram, "Drain")
        const env = processEnv(database, telegram, openai, SECRETS_KEY, {
          LOG_LEVEL: "info",
          PIPELINE_CONCURRENCY: "8",
          SHUTDOWN_GRACE_SECONDS: "20"
        })
        const first = yield* Effect.promise(() => startServerProcess(env))
        const second = yield* Effect.promise(() => startServerProcess(env))
        yield* Effect.promise(() => Promise.all([waitUntilReady(first), waitUntilReady(second)]))

        const expected = new Map<number, Array<string>>()
        for (let n = 1; n <= MESSAGES_PER_CHAT; n++) {
          for (let chat = 0; chat < CHATS; chat++) {
            const chatId = 700_000 + chat
            const text = `chat ${chatId} message ${n}`
            expected.set(chatId, [...(expected.get(chatId) ?? []), `reply to: ${text}`])
            const response = yield* postUpdate(first.baseUrl, bot, textUpdate(chatId, text))
            assert.strictEqual(response.status, 200)
          }
        }

        // The pipeline runs on its own thread; its metrics are served with the HTTP thread's.
        yield* eventually(() => telegram.sent.length >= 8, 30_000)
        const metrics = yield* Effect.promise(() => fetch(`${first.baseUrl}/metrics`).then((r) => r.text()))
        assert.isAbove(sample(metrics, /^telegram_updates_received_total\{/), 0, "counted by the HTTP thread")
        const sentByBoth =
          sample(metrics, /^telegram_messages_sent_total\{.*outcome="ok"/) +
          sample(
            yield* Effect.promise(() => fetch(`${second.baseUrl}/metrics`).then((r) => r.text())),
            /^telegram_messages_sent_total\{.*outcome="ok"/
          )
        assert.isAbove(sentByBoth, 0, "counted by the pipeline threads")
        const types = metrics.split("\n").filter((line) => line.startsWith("# TYPE "))
        assert.strictEqual(new Set(types).size, types.length, "each family once")

        const stoppedAt = Date.now()
        first.child.kill("SIGTERM")
        const exit = yield* Effect.promise(() => first.exited)
        assert.strictEqual(exit.code, 0, first.output())
        assert.isBelow(Date.now() - stoppedAt, 20_000, "stopped within the grace period")
        assert.match(first.output(), /"message":"drained"/)
        const owner = `%:${first.child.pid}:%`
        const left = yield* sql<{ count: number }>`
          SELECT count(*)::int AS count FROM chat_leases WHERE owner LIKE ${owner}`
        assert.strictEqual(left[0]!.count, 0, "every lease handed back")

        const total = CHATS * MESSAGES_PER_CHAT
        // Under the 15 s lease: nothing waits for one to run out. The rest takes several seconds by
        // design: each chat's remaining replies go at most one a second (Telegram's limit per chat).
        yield* eventually(() => telegram.sent.length >= total, 14_000)
        yield* Effect.promise(() => new Promise((resolve) => setTimeout(resolve, 500)))
        second.child.kill("SIGTERM")
        yield* Effect.promise(() => second.exited)

        assert.strictEqual(telegram.sent.length, total, "each reply sent exactly once")
        // Replies in flight at SIGTERM were finished, not cut off and generated again elsewhere.
        assert.strictEqual((yield* openai.requests).length, total, "each reply generated once")
        for (const [chatId, replies] of expected) {
          assert.deepStrictEqual(
            telegram.sentTo(chatId).map((message) => message.text),
            replies,
            `chat ${chatId}: every reply, in order`
          )
        }
      }),
    180_000
  )
})
