/**
 * Limits across processes, for real: two server processes
 * (children) on this file's database, the fake Telegram and OpenAI in the
 * test process. The API rate limit is one count whichever process is asked,
 * and a user's `userMessagesPerDay` holds when their updates, in several
 * chats at once, reach both processes. (rateLimits.test.ts and the usage
 * ledger tests show the same with two connection pools in one process.)
 */

import { BotRepository } from "@botfleet/application"
import { Bot } from "@botfleet/domain"
import { FakeOpenAI, FakeTelegram, TestDatabase } from "@botfleet/testing"
import { assert, layer } from "@effect/vitest"
import { Context, Effect, Layer } from "effect"
import { SqlClient } from "effect/sql"
import { ADMIN } from "./support/apiClient.ts"
import { insertActiveBot } from "./support/directBot.ts"
import { eventually, eventuallyEffect, postUpdate } from "./support/inProcessServer.ts"
import { newSecretsKey, processEnv, processStorage, serverPair } from "./support/processFixture.ts"
import type { ServerProcess } from "./support/serverProcess.ts"

const SECRETS_KEY = newSecretsKey()
const API_LIMIT = 30
const MESSAGES_PER_DAY = 3
const USER_ID = 4_242

const storage = processStorage(SECRETS_KEY)

class Pair extends Context.Service<
  Pair,
  {
    readonly a: ServerProcess
    readonly b: ServerProcess
    readonly bot: Bot
    readonly telegram: FakeTelegram.FakeTelegramServer
    readonly openai: FakeOpenAI.FakeOpenAI
  }
>()("test/twoProcesses/Pair") {}

const pairLayer = Layer.effect(
  Pair,
  Effect.gen(function* () {
    const database = yield* TestDatabase.TestDatabase
    const telegram = yield* FakeTelegram.make()
    // Slow enough that the user's messages in different chats are in flight together.
    const openai = yield* FakeOpenAI.make({ latencyMillis: 300 })
    const inserted = yield* insertActiveBot(telegram, "Limited")
    // Answers every group message (no mention needed), no drafts, three model answers a day per user.
    const bot = new Bot({
      ...inserted.bot,
      groupMode: "all",
      streaming: false,
      limits: { ...inserted.bot.limits, userMessagesPerDay: MESSAGES_PER_DAY }
    })
    yield* (yield* BotRepository).update(bot).pipe(Effect.orDie)

    const { a, b } = yield* serverPair(
      processEnv(database, telegram, openai, SECRETS_KEY, {
        ADMIN_EMAIL: ADMIN.email,
        ADMIN_PASSWORD: ADMIN.password,
        API_RATE_LIMIT_PER_MINUTE: String(API_LIMIT)
      })
    )
    return Pair.of({ a, b, bot, telegram, openai })
  })
).pipe(Layer.provideMerge(storage))

/** Fixed one-minute windows: start well inside one, so the burst is counted in a single window. */
const awayFromWindowEdge = Effect.promise(async () => {
  const left = 60_000 - (Date.now() % 60_000)
  if (left < 15_000) await new Promise((resolve) => setTimeout(resolve, left + 50))
})

/** Logs in at one process; the session (stored in PostgreSQL) is good at both. */
const login = (server: ServerProcess) =>
  Effect.promise(async () => {
    const response = await fetch(`${server.baseUrl}/api/auth/login`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(ADMIN)
    })
    assert.strictEqual(response.status, 200, await response.text())
    return response.headers
      .getSetCookie()
      .map((line) => line.split(";")[0])
      .join("; ")
  })

let nextUpdateId = 70_000
/** A message of USER_ID in a private chat (chatId = USER_ID) or a supergroup (negative id). */
const userMessage = (chatId: number, text: string) => {
  const updateId = nextUpdateId++
  return {
    update_id: updateId,
    message: {
      message_id: updateId,
      date: Math.floor(Date.now() / 1000),
      chat:
        chatId > 0
          ? { id: chatId, type: "private", first_name: "Lim" }
          : { id: chatId, type: "supergroup", title: `Group ${chatId}` },
      from: { id: USER_ID, is_bot: false, first_name: "Lim", language_code: "en" },
      text
    }
  }
}

layer(pairLayer, { timeout: 180_000, excludeTestServices: true })("limits across two processes", (it) => {
  it.effect(
    `API rate limit ${API_LIMIT}/min: 100 requests spread over both processes, exactly ${API_LIMIT} allowed`,
    () =>
      Effect.gen(function* () {
        const { a, b } = yield* Pair
        yield* awayFromWindowEdge
        const cookie = yield* login(a)
        const answers = yield* Effect.forEach(
          Array.from({ length: 100 }, (_, i) => (i % 2 === 0 ? a : b)),
          (server) =>
            Effect.promise(async () => {
              const response = await fetch(`${server.baseUrl}/api/bots`, { headers: { cookie } })
              await response.arrayBuffer()
              return {
                server: server === a ? "a" : "b",
                status: response.status,
                retryAfter: response.headers.get("retry-after"),
                limit: response.headers.get("x-ratelimit-limit")
              }
            }),
          { concurrency: 10 }
        )
        const allowed = answers.filter((answer) => answer.status === 200)
        const refused = answers.filter((answer) => answer.status === 429)
        assert.strictEqual(allowed.length, API_LIMIT, JSON.stringify(answers.map((answer) => answer.status)))
        assert.strictEqual(refused.length, 100 - API_LIMIT)
        // Both processes said yes to some and no to others: one count, not one per process.
        for (const name of ["a", "b"]) {
          assert.isTrue(
            allowed.some((answer) => answer.server === name),
            `${name} allowed some`
          )
          assert.isTrue(
            refused.some((answer) => answer.server === name),
            `${name} refused some`
          )
        }
        for (const answer of answers) assert.strictEqual(answer.limit, String(API_LIMIT))
        for (const answer of refused) assert.isNotNull(answer.retryAfter)
      })
  )

  it.effect(
    `userMessagesPerDay ${MESSAGES_PER_DAY}: one user's messages in four chats, posted to both processes, get ${MESSAGES_PER_DAY} answers and one limit message`,
    () =>
      Effect.gen(function* () {
        const { a, b, bot, telegram, openai } = yield* Pair
        const sql = yield* SqlClient.SqlClient
        const chats = [USER_ID, -100_111, -100_222, -100_333]
        const perChat = 3
        // All chats at once; each chat's messages one after another, alternating between the processes.
        yield* Effect.forEach(
          chats,
          (chatId, index) =>
            Effect.gen(function* () {
              for (let n = 1; n <= perChat; n++) {
                const target = (index + n) % 2 === 0 ? a : b
                const response = yield* postUpdate(
                  target.baseUrl,
                  bot,
                  userMessage(chatId, `${chatId} #${n}`)
                )
                assert.strictEqual(response.status, 200)
              }
            }),
          { concurrency: "unbounded", discard: true }
        )
        const total = chats.length * perChat
        yield* eventuallyEffect(
          Effect.map(
            sql<{ done: number }>`
              SELECT count(*)::int AS done FROM telegram_updates WHERE bot_id = ${bot.id} AND status = 'done'`,
            (rows) => rows[0]!.done === total
          ).pipe(Effect.orDie),
          60_000
        )
        // The one limit message goes out after its update is done: wait for the sends to stop.
        yield* eventually(
          () => chats.reduce((sum, chatId) => sum + telegram.sentTo(chatId).length, 0) >= 4,
          30_000
        )
        yield* Effect.promise(() => new Promise((resolve) => setTimeout(resolve, 1_000)))

        const asked = (yield* openai.requests).filter((request) =>
          request.messages.some((message) => message.content.includes(" #"))
        )
        assert.strictEqual(asked.length, MESSAGES_PER_DAY, "the model was asked exactly three times")
        const sent = chats.flatMap((chatId) => telegram.sentTo(chatId).map((message) => message.text))
        const answers = sent.filter((text) => text.startsWith("reply to:"))
        const limitNotices = sent.filter((text) => text.includes("limit"))
        assert.strictEqual(answers.length, MESSAGES_PER_DAY, JSON.stringify(sent))
        assert.strictEqual(limitNotices.length, 1, JSON.stringify(sent))
        assert.strictEqual(sent.length, MESSAGES_PER_DAY + 1)
        const [counter] = yield* sql<{ messages: number }>`
          SELECT messages FROM usage_counters
          WHERE bot_id = ${bot.id} AND tg_user_id = ${USER_ID} AND period = 'day'`.pipe(Effect.orDie)
        assert.strictEqual(counter?.messages, MESSAGES_PER_DAY)
      })
  )
})
