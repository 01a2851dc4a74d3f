/**
 * Streamed answers survive a crash (conversations): the server is
 * killed hard (SIGKILL) while an answer is growing as drafts, then started
 * again. The answer is generated again and the final message arrives once.
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

layer(storage, { timeout: 120_000, excludeTestServices: true })("crash while streaming", (it) => {
  it.effect(
    "SIGKILL while drafts grow, restart: the final message arrives once",
    () =>
      Effect.gen(function* () {
        const database = yield* TestDatabase.TestDatabase
        const telegram = yield* FakeTelegram.make()
        const openai = yield* FakeOpenAI.make({ record: false })
        const answer = Array.from({ length: 150 }, (_, i) => `word${i}`).join(" ")
        yield* openai.setReply(() => answer)
        // 50 pieces, 100 ms apart: five seconds of writing, time enough to die mid-answer.
        yield* openai.setStreamPace(100)
        const { bot } = yield* insertActiveBot(telegram, "Streamer")
        const env = processEnv(database, telegram, openai, SECRETS_KEY)
        const first = yield* Effect.promise(() => startServerProcess(env))
        yield* Effect.promise(() => waitUntilReady(first))
        const chatId = 950_001
        assert.strictEqual(
          (yield* postUpdate(first.baseUrl, bot, textUpdate(chatId, "tell me a lot"))).status,
          200
        )

        yield* eventually(
          () => telegram.drafts.filter((draft) => draft.chatId === chatId).length >= 2,
          30_000
        )
        first.child.kill("SIGKILL")
        yield* Effect.promise(() => first.exited)
        assert.deepStrictEqual(telegram.sentTo(chatId), [], "killed before the final message")

        const second = yield* Effect.promise(() => startServerProcess({ ...env, PORT: String(first.port) }))
        yield* Effect.promise(() => waitUntilReady(second))
        // The dead process's chat lease runs out (15 s) before the new one takes the chat.
        yield* eventually(() => telegram.sentTo(chatId).length >= 1, 60_000)
        yield* Effect.promise(() => new Promise((resolve) => setTimeout(resolve, 1_000)))
        second.child.kill("SIGTERM")
        yield* Effect.promise(() => second.exited)

        assert.deepStrictEqual(
          telegram.sentTo(chatId).map((message) => message.text),
          [answer],
          "one final message, the whole answer"
        )
      }),
    120_000
  )
})
