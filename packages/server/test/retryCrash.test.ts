/**
 * /retry survives a crash between its two answers: the server process is
 * killed hard (SIGKILL) after the new answer is stored and while its send
 * hangs, then started again. The stored answer is sent once, and the model
 * is not asked a third time (each answer is numbered by the fake model).
 */

import { FakeOpenAI, FakeTelegram, TestDatabase } from "@botfleet/testing"
import { assert, layer } from "@effect/vitest"
import { Effect } from "effect"
import { insertActiveBot } from "./support/directBot.ts"
import { eventually, postUpdate, textUpdate } from "./support/inProcessServer.ts"
import { newSecretsKey, processEnv, processStorage } from "./support/processFixture.ts"
import { startServerProcess, waitUntilReady } from "./support/serverProcess.ts"

const SECRETS_KEY = newSecretsKey()

const storage = processStorage(SECRETS_KEY)

layer(storage, { timeout: 120_000, excludeTestServices: true })("crash during /retry", (it) => {
  it.effect(
    "SIGKILL after the new answer is stored, before it is sent; restart: one new answer, asked once",
    () =>
      Effect.gen(function* () {
        const database = yield* TestDatabase.TestDatabase
        const telegram = yield* FakeTelegram.make()
        const openai = yield* FakeOpenAI.make({ record: false })
        let asked = 0
        yield* openai.setReply(() => `answer ${++asked}`)
        const { bot } = yield* insertActiveBot(telegram, "Retrier")
        const env = processEnv(database, telegram, openai, SECRETS_KEY)
        const first = yield* Effect.promise(() => startServerProcess(env))
        yield* Effect.promise(() => waitUntilReady(first))
        const chatId = 960_001

        assert.strictEqual(
          (yield* postUpdate(first.baseUrl, bot, textUpdate(chatId, "what is the capital of France?")))
            .status,
          200
        )
        yield* eventually(() => telegram.sentTo(chatId).length >= 1, 30_000)

        // The /retry's answer is stored before it is sent: its send never answers, and the process dies.
        const sendsBefore = telegram.calls("sendMessage")
        telegram.failNext("sendMessage", FakeTelegram.Fault.hang)
        assert.strictEqual((yield* postUpdate(first.baseUrl, bot, textUpdate(chatId, "/retry"))).status, 200)
        yield* eventually(() => telegram.calls("sendMessage") > sendsBefore, 30_000)
        first.child.kill("SIGKILL")
        yield* Effect.promise(() => first.exited)
        assert.strictEqual(asked, 2, "the new answer was made before the crash")
        assert.deepStrictEqual(
          telegram.sentTo(chatId).map((message) => message.text),
          ["answer 1"]
        )

        const second = yield* Effect.promise(() => startServerProcess({ ...env, PORT: String(first.port) }))
        yield* Effect.promise(() => waitUntilReady(second))
        // The dead process's chat lease runs out (15 s) before the new one takes the chat.
        yield* eventually(() => telegram.sentTo(chatId).length >= 2, 60_000)
        yield* Effect.promise(() => new Promise((resolve) => setTimeout(resolve, 1_000)))
        second.child.kill("SIGTERM")
        yield* Effect.promise(() => second.exited)

        assert.deepStrictEqual(
          telegram.sentTo(chatId).map((message) => message.text),
          ["answer 1", "answer 2"],
          "the stored answer, sent once"
        )
        assert.strictEqual(asked, 2, "the model was not asked again after the restart")
      }),
    120_000
  )
})
