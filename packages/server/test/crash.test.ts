/**
 * Crash: the server process is killed hard (SIGKILL) while replies are in
 * flight and started again. Every update is answered, none lost, in order per
 * chat; only a send that was in flight at the crash may repeat, and the
 * repeats are counted and reported.
 */

import { FakeOpenAI, FakeTelegram, TestDatabase } from "@botfleet/testing"
import { assert, layer } from "@effect/vitest"
import { Effect } from "effect"
import { insertActiveBot } from "./support/directBot.ts"
import { eventually, postUpdate, textUpdate } from "./support/inProcessServer.ts"
import { newSecretsKey, processEnv, processStorage } from "./support/processFixture.ts"
import { startServerProcess, waitUntilReady } from "./support/serverProcess.ts"

const CHATS = 20
const MESSAGES_PER_CHAT = 5
const SECRETS_KEY = newSecretsKey()

const storage = processStorage(SECRETS_KEY)

layer(storage, { timeout: 180_000, excludeTestServices: true })("crash", (it) => {
  it.effect(
    "SIGKILL mid-flight, restart: all answered, in order, repeats only from in-flight sends",
    () =>
      Effect.gen(function* () {
        const database = yield* TestDatabase.TestDatabase
        const telegram = yield* FakeTelegram.make()
        // Slow enough that many replies are in flight when the process dies.
        const openai = yield* FakeOpenAI.make({ latencyMillis: 150, record: false })
        const { bot } = yield* insertActiveBot(telegram, "Crash")

        const env = processEnv(database, telegram, openai, SECRETS_KEY, { PIPELINE_CONCURRENCY: "8" })
        const first = yield* Effect.promise(() => startServerProcess(env))
        yield* Effect.promise(() => waitUntilReady(first))
        const publicBase = first.baseUrl

        const firstChat = 900_000
        const expected = new Map<number, Array<string>>()
        for (let chat = 0; chat < CHATS; chat++) {
          const chatId = firstChat + chat
          expected.set(chatId, [])
          for (let n = 1; n <= MESSAGES_PER_CHAT; n++) {
            const text = `chat ${chatId} message ${n}`
            expected.get(chatId)!.push(`reply to: ${text}`)
            const response = yield* postUpdate(publicBase, bot, textUpdate(chatId, text))
            assert.strictEqual(response.status, 200)
          }
        }

        // Kill while work is in progress: some replies sent, most not.
        yield* eventually(() => telegram.sent.length >= 10, 30_000)
        first.child.kill("SIGKILL")
        yield* Effect.promise(() => first.exited)
        const sentAtCrash = telegram.sent.length
        assert.isBelow(sentAtCrash, CHATS * MESSAGES_PER_CHAT, "the crash happened mid-way")

        const second = yield* Effect.promise(() => startServerProcess({ ...env, PORT: String(first.port) }))
        yield* Effect.promise(() => waitUntilReady(second))
        const total = CHATS * MESSAGES_PER_CHAT
        const distinctSent = () =>
          new Set(telegram.sent.map((message) => `${message.chatId}|${message.text}`)).size
        // A dead process's chat leases run out (15 s) before the new process takes those chats.
        yield* eventually(() => distinctSent() >= total, 90_000)
        yield* Effect.promise(() => new Promise((resolve) => setTimeout(resolve, 500)))
        second.child.kill("SIGTERM")
        yield* Effect.promise(() => second.exited)

        const repeats = telegram.sent.length - total
        for (const [chatId, replies] of expected) {
          const firstSeen: Array<string> = []
          for (const message of telegram.sentTo(chatId))
            if (!firstSeen.includes(message.text)) firstSeen.push(message.text)
          assert.deepStrictEqual(firstSeen, replies, `chat ${chatId}: every reply, in order`)
        }
        // At most one send per chat can be in flight at a crash.
        assert.isAtMost(repeats, CHATS)
        yield* Effect.logWarning("crash test", {
          sent_before_crash: sentAtCrash,
          total,
          repeated_sends: repeats
        })
      }),
    180_000
  )
})
