/**
 * Settings apply at once in every process: two server processes (children,
 * each with its pipeline thread) on this file's database. Both have just
 * worked on a bot's updates, so both hold it in their caches; an admin changes
 * it through one of them, and the next message of every chat, posted to
 * either, follows the change. With a cache that expired by time (1 s), a
 * process that had the bot cached answered the old way.
 */
import { BotRepository } from "@botfleet/application"
import { Bot } from "@botfleet/domain"
import { FakeOpenAI, FakeTelegram, TestDatabase } from "@botfleet/testing"
import { assert, layer } from "@effect/vitest"
import { Context, Effect, Layer } from "effect"
import { SqlClient } from "effect/sql"
import { ADMIN } from "./support/apiClient.ts"
import { insertActiveBot } from "./support/directBot.ts"
import { eventuallyEffect, postUpdate } from "./support/inProcessServer.ts"
import { newSecretsKey, processEnv, processStorage, serverPair } from "./support/processFixture.ts"
import type { ServerProcess } from "./support/serverProcess.ts"

const SECRETS_KEY = newSecretsKey()
const LOCAL_KEY = "sk-local-2b4d6f8a0c1e3a5c7e9f"
/** Chats per round: enough that both processes lease some of them. */
const CHATS = 8

const storage = processStorage(SECRETS_KEY)

class Pair extends Context.Service<
  Pair,
  {
    readonly a: ServerProcess
    readonly b: ServerProcess
    readonly telegram: FakeTelegram.FakeTelegramServer
    readonly openai: FakeOpenAI.FakeOpenAI
    readonly local: FakeOpenAI.FakeOpenAI
  }
>()("test/settingsTwoProcesses/Pair") {}

const pairLayer = Layer.effect(
  Pair,
  Effect.gen(function* () {
    const database = yield* TestDatabase.TestDatabase
    const telegram = yield* FakeTelegram.make()
    const openai = yield* FakeOpenAI.make({ record: true })
    const local = yield* FakeOpenAI.make({ apiKey: LOCAL_KEY, record: true })
    const { a, b } = yield* serverPair(
      processEnv(database, telegram, openai, SECRETS_KEY, {
        ADMIN_EMAIL: ADMIN.email,
        ADMIN_PASSWORD: ADMIN.password,
        OUTBOUND_PRIVATE_NETWORKS: "allow"
      })
    )
    return Pair.of({ a, b, telegram, openai, local })
  })
).pipe(Layer.provideMerge(storage))

/** An active bot that answers at once, without drafts. */
const newBot = (name: string) =>
  Effect.gen(function* () {
    const { telegram } = yield* Pair
    const inserted = yield* insertActiveBot(telegram, name)
    const bot = new Bot({ ...inserted.bot, streaming: false })
    yield* (yield* BotRepository).update(bot).pipe(Effect.orDie)
    return bot
  })

const api = (server: ServerProcess, method: string, path: string, cookie: string, body?: unknown) =>
  Effect.promise(async () => {
    const response = await fetch(`${server.baseUrl}${path}`, {
      method,
      headers: { cookie, "content-type": "application/json", origin: server.baseUrl },
      ...(body === undefined ? {} : { body: JSON.stringify(body) })
    })
    const text = await response.text()
    assert.isBelow(response.status, 300, `${method} ${path}: ${response.status} ${text}`)
    return JSON.parse(text) as Record<string, unknown>
  })

const login = (server: ServerProcess) =>
  Effect.promise(async () => {
    const response = await fetch(`${server.baseUrl}/api/auth/login`, {
      method: "POST",
      headers: { "content-type": "application/json", origin: server.baseUrl },
      body: JSON.stringify(ADMIN)
    })
    assert.strictEqual(response.status, 200, await response.text())
    return response.headers
      .getSetCookie()
      .map((line) => line.split(";")[0])
      .join("; ")
  })

let nextUpdateId = 80_000
const message = (userId: number, text: string) => {
  const updateId = nextUpdateId++
  return {
    update_id: updateId,
    message: {
      message_id: updateId,
      date: Math.floor(Date.now() / 1000),
      chat: { id: userId, type: "private", first_name: "Two" },
      from: { id: userId, is_bot: false, first_name: "Two", language_code: "en" },
      text
    }
  }
}

/**
 * One message from each user, posted to both processes in turn, all at once;
 * then waits until every update of the bot is done (`done` in all).
 */
const round = (bot: Bot, users: ReadonlyArray<number>, text: string, done: number) =>
  Effect.gen(function* () {
    const { a, b } = yield* Pair
    const sql = yield* SqlClient.SqlClient
    yield* Effect.forEach(
      users,
      (user, index) =>
        Effect.map(postUpdate((index % 2 === 0 ? a : b).baseUrl, bot, message(user, text)), (response) =>
          assert.strictEqual(response.status, 200)
        ),
      { concurrency: "unbounded", discard: true }
    )
    yield* eventuallyEffect(
      Effect.map(
        sql<{ done: number }>`
          SELECT count(*)::int AS done FROM telegram_updates WHERE bot_id = ${bot.id} AND status = 'done'`,
        (rows) => rows[0]!.done === done
      ).pipe(Effect.orDie),
      30_000
    )
  })

/** CHATS users, each in a private chat with the bot. */
const usersOf = (first: number) => Array.from({ length: CHATS }, (_, i) => first + i)

layer(pairLayer, { timeout: 180_000, excludeTestServices: true })(
  "settings apply at once (two processes)",
  (it) => {
    it.effect("access opened through one process: the next message of every chat is answered by both", () =>
      Effect.gen(function* () {
        const { a, b, telegram } = yield* Pair
        const bot = yield* newBot("Opened Twice")
        const cookie = yield* login(a)
        const closed = yield* api(a, "PATCH", `/api/bots/${bot.id}`, cookie, {
          access: "allowlist",
          allowedUserIds: [1]
        })
        const users = usersOf(961_000)
        yield* round(bot, users, "let me in", CHATS)
        for (const user of users)
          assert.deepStrictEqual(
            telegram.sentTo(user).map((m) => m.text),
            [closed.deniedMessage]
          )

        yield* api(b, "PATCH", `/api/bots/${bot.id}`, cookie, { access: "open" })
        yield* round(bot, users, "now?", 2 * CHATS)
        for (const user of users) {
          assert.deepStrictEqual(
            telegram.sentTo(user).map((m) => m.text),
            [closed.deniedMessage, "reply to: now?"],
            `user ${user}`
          )
        }
      })
    )

    it.effect("provider switched through one process: the next message of every chat goes to it", () =>
      Effect.gen(function* () {
        const { a, b, openai, local } = yield* Pair
        const bot = yield* newBot("Switched Twice")
        const cookie = yield* login(b)
        const provider = yield* api(b, "POST", "/api/providers", cookie, {
          name: "Local Twice",
          baseUrl: local.baseUrl.href,
          apiKey: LOCAL_KEY,
          defaultModel: "llama-local"
        })
        const users = usersOf(962_000)
        yield* round(bot, users, "before", CHATS)
        const defaultAsked = (yield* openai.requests).length
        assert.strictEqual((yield* local.requests).length, 0)

        yield* api(a, "PATCH", `/api/bots/${bot.id}`, cookie, { providerId: provider.id })
        yield* round(bot, users, "after", 2 * CHATS)
        const asked = yield* local.requests
        assert.strictEqual(asked.length, CHATS, "every chat's next message went to the new provider")
        for (const request of asked) assert.strictEqual(request.model, "llama-local")
        assert.strictEqual((yield* openai.requests).length, defaultAsked, "none to the old one")
      })
    )

    it.effect("users blocked through one process: their next message is refused by both", () =>
      Effect.gen(function* () {
        const { a, b, telegram, openai } = yield* Pair
        const bot = yield* newBot("Blocked Twice")
        const cookie = yield* login(a)
        const users = usersOf(963_000)
        yield* round(bot, users, "hello", CHATS)
        for (const user of users)
          assert.deepStrictEqual(
            telegram.sentTo(user).map((m) => m.text),
            ["reply to: hello"]
          )
        // One write, so that the caches filled by the round above are a moment old, not seconds.
        const view = yield* api(b, "PATCH", `/api/bots/${bot.id}`, cookie, { blockedUserIds: users })
        const asked = (yield* openai.requests).length
        yield* round(bot, users, "still here", 2 * CHATS)
        for (const user of users) {
          assert.deepStrictEqual(
            telegram.sentTo(user).map((m) => m.text),
            ["reply to: hello", view.deniedMessage],
            `user ${user}`
          )
        }
        assert.strictEqual((yield* openai.requests).length, asked, "the model was not asked")
      })
    )
  }
)
