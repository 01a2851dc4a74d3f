/**
 * Per-bot `historyRetentionDays` on the real server: the field on create,
 * PATCH, responses and /openapi.json; bad values refused with nothing changed;
 * and the `history_retention` job deleting old messages while every number of
 * `GET /api/stats` (fleet and bot, day, week and month) stays exactly the same.
 */
import { assert, layer } from "@effect/vitest"
import { Effect } from "effect"
import { BotView, JobsView, StatsView } from "../../src/api/schemas.ts"
import { expectBody, expectError, loggedIn, withAdmin } from "../support/apiClient.ts"
import {
  eventually,
  eventuallyEffect,
  postUpdate,
  layer as serverLayer,
  settled,
  TestServer,
  telegramBot,
  textUpdate
} from "../support/inProcessServer.ts"

/** Everything but the window's ends, which move with the clock between two calls. */
const numbersOf = (stats: StatsView) => {
  const { from: _from, to: _to, ...numbers } = stats
  return numbers
}

layer(serverLayer(withAdmin()), { timeout: 90_000, excludeTestServices: true })("history retention", (it) => {
  it.effect("historyRetentionDays on create, PATCH and in /openapi.json; bad values are refused", () =>
    Effect.gen(function* () {
      const server = yield* TestServer
      const api = yield* loggedIn(server.baseUrl)
      const telegram = telegramBot(server.telegram, "Forgetful")
      const created = expectBody(
        yield* api.post("/api/bots", { name: "Forgetful", token: telegram.token, historyRetentionDays: 30 }),
        201,
        BotView
      )
      assert.strictEqual(created.historyRetentionDays, 30)
      const kept = expectBody(
        yield* api.post("/api/bots", { name: "Keeper", token: telegramBot(server.telegram, "Keeper").token }),
        201,
        BotView
      )
      assert.isNull(kept.historyRetentionDays, "null (keep every message) unless asked")

      const patched = expectBody(
        yield* api.patch(`/api/bots/${created.id}`, { historyRetentionDays: 3650 }),
        200,
        BotView
      )
      assert.strictEqual(patched.historyRetentionDays, 3650)
      for (const value of [0, 3651, 1.5, "7", -1]) {
        const message = expectError(
          yield* api.patch(`/api/bots/${created.id}`, { historyRetentionDays: value }),
          400,
          "invalid_request"
        )
        assert.include(message, "historyRetentionDays", JSON.stringify(value))
      }
      const stored = expectBody(yield* api.get(`/api/bots/${created.id}`), 200, BotView)
      assert.strictEqual(stored.historyRetentionDays, 3650, "a refused PATCH changed nothing")
      const cleared = expectBody(
        yield* api.patch(`/api/bots/${created.id}`, { historyRetentionDays: null }),
        200,
        BotView
      )
      assert.isNull(cleared.historyRetentionDays)

      const spec = yield* Effect.promise(() => fetch(`${server.baseUrl}/openapi.json`).then((r) => r.text()))
      assert.include(spec, "historyRetentionDays")
    })
  )

  it.effect("the job deletes messages past the retention and GET /api/stats does not change", () =>
    Effect.gen(function* () {
      const server = yield* TestServer
      const api = yield* loggedIn(server.baseUrl)
      const { bot } = yield* server.addBot("Purged")
      const { bot: other } = yield* server.addBot("Untouched")
      const say = (target: typeof bot, chatId: number, text: string) =>
        Effect.gen(function* () {
          assert.strictEqual(
            (yield* postUpdate(server.baseUrl, target, textUpdate(chatId, text))).status,
            200
          )
          yield* eventually(() =>
            server.telegram.sentTo(chatId).some((sent) => sent.text === `reply to: ${text}`)
          )
          yield* settled(server, target.id)
        })
      // Four chats of the purged bot, one of another bot with the same ages.
      yield* say(bot, 97_001, "ten days ago")
      yield* say(bot, 97_001, "ten days ago, again")
      yield* say(bot, 97_002, "three days ago")
      yield* say(bot, 97_003, "today")
      yield* say(bot, 97_005, "asked long ago")
      yield* say(other, 97_004, "ten days ago, elsewhere")
      // Age whole conversations (message and reply alike, so latencies stay), away from the
      // 1-, 7- and 30-day edges of the windows.
      const age = (chatId: number, botId: string, days: number) =>
        server.sql`
            UPDATE messages m SET created_at = m.created_at - make_interval(days => ${days}),
              sent_at = m.sent_at - make_interval(days => ${days})
            FROM chats c
            WHERE c.id = m.chat_id AND c.bot_id = ${botId} AND c.telegram_chat_id = ${chatId}`
      yield* age(97_001, bot.id, 10)
      yield* age(97_002, bot.id, 3)
      yield* age(97_004, other.id, 10)
      // A question past the retention whose reply is not: the reply stays and forgets it.
      yield* server.sql`
        UPDATE messages m SET created_at = m.created_at - interval '3 days'
        FROM chats c
        WHERE c.id = m.chat_id AND c.bot_id = ${bot.id} AND c.telegram_chat_id = 97005 AND m.role = 'user'`

      const everyView = [
        "/api/stats?period=day",
        "/api/stats?period=week",
        "/api/stats?period=month",
        `/api/stats?period=day&botId=${bot.id}`,
        `/api/stats?period=week&botId=${bot.id}`,
        `/api/stats?period=month&botId=${bot.id}`
      ]
      const snapshot = Effect.forEach(everyView, (path) =>
        Effect.map(api.get(path), (response) => numbersOf(expectBody(response, 200, StatsView)))
      )
      // No route gives a chat's totals yet; what the stats could give per chat, from both tables.
      const perChat = server.sql<{ chat_id: string; messages: number; tokens: number; cost: number }>`
        SELECT chat_id::text, count(*)::int AS messages,
          sum(input_tokens + output_tokens)::int AS tokens, sum(cost_usd)::float8 AS cost
        FROM (
          SELECT chat_id, input_tokens, output_tokens, cost_usd FROM messages WHERE bot_id = ${bot.id}
          UNION ALL
          SELECT chat_id, input_tokens, output_tokens, cost_usd FROM message_tallies WHERE bot_id = ${bot.id}
        ) m
        GROUP BY chat_id ORDER BY chat_id`
      const chatsBefore = yield* perChat
      assert.strictEqual(chatsBefore.length, 4)
      const before = yield* snapshot
      const monthOfBot = before[5]!
      assert.strictEqual(monthOfBot.messagesIn, 5, "the purged messages are in the month before the purge")
      assert.strictEqual(before[4]!.messagesIn, 3, "and three of them in the week")

      expectBody(yield* api.patch(`/api/bots/${bot.id}`, { historyRetentionDays: 2 }), 200, BotView)
      // Let the job run on the next look instead of the next minute.
      yield* server.sql`DELETE FROM job_runs WHERE job = 'history_retention'`
      const left = yield* eventuallyEffect(
        Effect.map(
          server.sql<{ text: string }>`
              SELECT text FROM messages WHERE bot_id = ${bot.id} AND role = 'user' ORDER BY created_at`,
          (rows) => (rows.length === 1 ? rows.map((row) => row.text) : undefined)
        )
      )
      assert.deepStrictEqual(left, ["today"])
      const others = yield* server.sql<{ count: number }>`
          SELECT count(*)::int AS count FROM messages WHERE bot_id = ${other.id}`
      assert.strictEqual(others[0]!.count, 2, "a bot without a retention keeps its messages")
      const tallies = yield* server.sql<{ count: number }>`
          SELECT count(*)::int AS count FROM message_tallies WHERE bot_id = ${bot.id}`
      assert.strictEqual(tallies[0]!.count, 7, "four user messages and three of their replies")
      const orphan = yield* server.sql<{ text: string; reply_to: string | null }>`
        SELECT m.text, m.reply_to FROM messages m JOIN chats c ON c.id = m.chat_id
        WHERE c.bot_id = ${bot.id} AND c.telegram_chat_id = 97005`
      assert.deepStrictEqual(orphan, [{ text: "reply to: asked long ago", reply_to: null }])

      const after = yield* snapshot
      assert.deepStrictEqual(yield* perChat, chatsBefore, "each chat's totals")
      for (const [index, path] of everyView.entries()) {
        assert.deepStrictEqual(after[index], before[index], path)
      }

      // The run is recorded once its last batch is done.
      const job = yield* eventuallyEffect(
        Effect.map(api.get("/api/jobs"), (response) =>
          expectBody(response, 200, JobsView).items.find(
            (item) =>
              item.name === "history_retention" &&
              item.lastRun?.outcome === "ok" &&
              /^deleted 7 messages of \d+ bots with a retention$/.test(item.lastRun.detail ?? "")
          )
        )
      )
      assert.strictEqual(job.everySeconds, 60)
    })
  )
})
