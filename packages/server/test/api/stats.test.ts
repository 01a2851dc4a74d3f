/** `GET /api/stats`: what the fleet (or one bot) did in the last day, week or month. */
import type { Bot } from "@botfleet/domain"
import { assert, layer } from "@effect/vitest"
import { Effect } from "effect"
import { BotView, StatsView } from "../../src/api/schemas.ts"
import { expectBody, expectError, loggedIn, unknownId, withAdmin } from "../support/apiClient.ts"
import {
  eventually,
  postUpdate,
  layer as serverLayer,
  settled,
  TestServer,
  textUpdate
} from "../support/inProcessServer.ts"

const say = (server: TestServer["Service"], bot: Bot, chatId: number, text: string) =>
  Effect.gen(function* () {
    assert.strictEqual((yield* postUpdate(server.baseUrl, bot, textUpdate(chatId, text))).status, 200)
    yield* eventually(() => server.telegram.sentTo(chatId).some((sent) => sent.text === `reply to: ${text}`))
    yield* settled(server, bot.id)
  })

layer(serverLayer(withAdmin()), { timeout: 60_000, excludeTestServices: true })("stats API", (it) => {
  it.effect(
    "after traffic, a bot's day shows messages in and out, users, chats, tokens, cost and latency",
    () =>
      Effect.gen(function* () {
        const server = yield* TestServer
        const api = yield* loggedIn(server.baseUrl)
        const { bot } = yield* server.addBot("Counted")
        yield* say(server, bot, 9501, "first")
        yield* say(server, bot, 9501, "second")
        yield* say(server, bot, 9502, "third")

        const stats = expectBody(yield* api.get(`/api/stats?period=day&botId=${bot.id}`), 200, StatsView)
        assert.strictEqual(stats.period, "day")
        assert.strictEqual(stats.botId, bot.id)
        assert.strictEqual(stats.messagesIn, 3)
        assert.strictEqual(stats.messagesOut, 3)
        assert.strictEqual(stats.activeUsers, 2)
        assert.strictEqual(stats.newUsers, 2)
        assert.strictEqual(stats.activeChats, 2)
        assert.strictEqual(stats.newChats, 2)
        assert.isAbove(stats.inputTokens, 0)
        assert.isAbove(stats.outputTokens, 0)
        assert.isAbove(stats.costUsd, 0)
        assert.strictEqual(stats.errors, 0)
        assert.isNotNull(stats.replyLatencyMs.p50)
        assert.isNotNull(stats.replyLatencyMs.p95)
        assert.isAtLeast(stats.replyLatencyMs.p95!, stats.replyLatencyMs.p50!)
        const span = Date.parse(stats.to) - Date.parse(stats.from)
        assert.strictEqual(span, 86_400_000, "the last 24 hours")

        const today = stats.series.reduce((sum, day) => sum + day.messagesIn, 0)
        assert.strictEqual(today, 3, "the series adds up to the total")
        assert.strictEqual(stats.topUsers[0]?.telegramId, 9501)
        assert.deepStrictEqual(
          stats.topBots.map((top) => top.botId),
          [bot.id]
        )
      })
  )

  it.effect("the whole fleet by default; week and month widen the window", () =>
    Effect.gen(function* () {
      const server = yield* TestServer
      const api = yield* loggedIn(server.baseUrl)
      const { bot } = yield* server.addBot("Fleet member")
      yield* say(server, bot, 9601, "hello fleet")

      const fleet = expectBody(yield* api.get("/api/stats"), 200, StatsView)
      assert.strictEqual(fleet.period, "day", "day unless asked")
      assert.isNull(fleet.botId)
      assert.isAtLeast(fleet.messagesIn, 1)
      assert.isAtLeast(fleet.messagesOut, 1)
      assert.isAbove(fleet.costUsd, 0)
      assert.include(
        fleet.topBots.map((top) => top.botId),
        bot.id
      )

      for (const [period, days] of [
        ["week", 7],
        ["month", 30]
      ] as const) {
        const wider = expectBody(yield* api.get(`/api/stats?period=${period}`), 200, StatsView)
        assert.strictEqual(wider.period, period)
        assert.strictEqual(Date.parse(wider.to) - Date.parse(wider.from), days * 86_400_000)
        assert.isAtLeast(wider.messagesIn, fleet.messagesIn)
      }
    })
  )

  it.effect("a reply that failed counts as an error", () =>
    Effect.gen(function* () {
      const server = yield* TestServer
      const api = yield* loggedIn(server.baseUrl)
      const { bot } = yield* server.addBot("Erring")
      expectBody(yield* api.patch(`/api/bots/${bot.id}`, { model: "erring-model" }), 200, BotView)
      yield* server.openai.failNext({ status: 401, model: "erring-model" })
      assert.strictEqual((yield* postUpdate(server.baseUrl, bot, textUpdate(9701, "fail me"))).status, 200)
      yield* eventually(() => server.telegram.sentTo(9701).length > 0)
      yield* settled(server, bot.id)

      const stats = expectBody(yield* api.get(`/api/stats?botId=${bot.id}`), 200, StatsView)
      assert.strictEqual(stats.messagesIn, 1)
      assert.strictEqual(stats.errors, 1)
    })
  )

  it.effect("an unknown bot is 404; a bad period or bot id is 400", () =>
    Effect.gen(function* () {
      const server = yield* TestServer
      const api = yield* loggedIn(server.baseUrl)
      expectError(yield* api.get(`/api/stats?botId=${unknownId}`), 404, "bot_not_found")
      assert.include(
        expectError(yield* api.get("/api/stats?period=year"), 400, "invalid_request"),
        "query.period:"
      )
      assert.include(
        expectError(yield* api.get("/api/stats?botId=42"), 400, "invalid_request"),
        "query.botId:"
      )
    })
  )
})
