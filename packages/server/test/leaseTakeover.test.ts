/**
 * Two server processes on one database. The process sending a chat's
 * three-part answer stalls after the first part (SIGSTOP: what a long GC
 * pause or a frozen VM does); its lease runs out and the other process takes
 * the chat over and sends the rest. When the stalled process wakes up, about
 * to send its second part, it must not: a lease that is no longer surely its
 * own stops it before the send.
 */

import { chatKey } from "@botfleet/domain"
import { FakeOpenAI, FakeTelegram, TestDatabase } from "@botfleet/testing"
import { assert, layer } from "@effect/vitest"
import { Effect } from "effect"
import { SqlClient } from "effect/sql"
import { insertActiveBot } from "./support/directBot.ts"
import { eventuallyEffect, postUpdate, textUpdate } from "./support/inProcessServer.ts"
import { newSecretsKey, processEnv, processStorage, serverPair } from "./support/processFixture.ts"

const SECRETS_KEY = newSecretsKey()

layer(processStorage(SECRETS_KEY), { timeout: 180_000 })("a chat taken over from a stalled process", (it) => {
  it.effect(
    "the stalled process, woken mid-answer, sends nothing the new owner already sent",
    () =>
      Effect.gen(function* () {
        const database = yield* TestDatabase.TestDatabase
        const sql = yield* SqlClient.SqlClient
        const telegram = yield* FakeTelegram.make()
        const openai = yield* FakeOpenAI.make()
        // An answer of three messages: Telegram's one a second per chat spaces them about a second apart.
        const paragraph = (n: number) => `Part ${n}. ${"word ".repeat(700)}`
        const parts = [1, 2, 3].map(paragraph)
        yield* openai.setReply(() => parts.join("\n\n"))
        const { bot } = yield* insertActiveBot(telegram, "Takeover")
        const { a, b } = yield* serverPair(processEnv(database, telegram, openai, SECRETS_KEY))
        const chatId = 970_001
        const key = chatKey(bot.id, chatId)
        const sentParts = () => telegram.sentTo(chatId).map((message) => message.text.slice(0, 7))

        const response = yield* postUpdate(a.baseUrl, bot, textUpdate(chatId, "tell me everything", 5_001))
        assert.strictEqual(response.status, 200)
        // The first part is out: the process holding the chat now waits for the chat's send budget.
        const owner = yield* eventuallyEffect(
          Effect.gen(function* () {
            if (telegram.sentTo(chatId).length < 1) return undefined
            const rows = yield* sql<{ owner: string }>`SELECT owner FROM chat_leases WHERE chat_key = ${key}`
            return rows[0]?.owner
          }).pipe(Effect.orDie),
          30_000
        )
        const stalled = owner.includes(`:${a.child.pid}:`) ? a : b
        assert.isTrue(owner.includes(`:${stalled.child.pid}:`), `lease owner ${owner}`)
        stalled.child.kill("SIGSTOP")
        yield* Effect.addFinalizer(() => Effect.sync(() => stalled.child.kill("SIGCONT")))
        assert.deepStrictEqual(sentParts(), ["Part 1."], "stopped before its second part")

        // The other process takes the chat over once the lease (15 s) has run out, and sends the rest.
        yield* eventuallyEffect(
          Effect.sync(() => telegram.sentTo(chatId).length >= 3),
          40_000
        )
        assert.deepStrictEqual(sentParts(), ["Part 1.", "Part 2.", "Part 3."])

        // The stalled process wakes up where it stopped, about to send its second part. Give it time to act.
        stalled.child.kill("SIGCONT")
        // Real time (the test clock stands still here).
        yield* Effect.promise(() => new Promise((resolve) => setTimeout(resolve, 8_000)))
        assert.deepStrictEqual(sentParts(), ["Part 1.", "Part 2.", "Part 3."], "each part sent once")
        const pending = yield* sql<{ n: number }>`
          SELECT count(*)::int AS n FROM telegram_updates WHERE chat_key = ${key} AND status <> 'done'`
        assert.strictEqual(pending[0]!.n, 0)
      }).pipe(Effect.scoped),
    180_000
  )
})
