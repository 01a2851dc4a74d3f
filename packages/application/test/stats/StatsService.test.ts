import {
  BotRepositoryMemory,
  ChatRepositoryMemory,
  MemoryStore,
  MessageRepositoryMemory,
  StatsRepositoryMemory
} from "@botfleet/adapters"
import { BotRepository, ChatRepository, MessageRepository, StatsService } from "@botfleet/application"
import { Bot, BotId, Message, MessageId, TelegramUserId, TgUser } from "@botfleet/domain"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Layer } from "effect"
import { TestClock } from "effect/testing"

/** The service on in-memory twins sharing one set of tables; fresh for each test. */
const twins = () =>
  StatsService.layer.pipe(
    Layer.provideMerge(
      Layer.mergeAll(
        BotRepositoryMemory.layerNoDeps,
        ChatRepositoryMemory.layerNoDeps,
        MessageRepositoryMemory.layerNoDeps,
        StatsRepositoryMemory.layerNoDeps
      )
    ),
    Layer.provide(MemoryStore.layer)
  )

const NOW = Date.UTC(2025, 2, 31, 12)
const HOUR = 3_600_000
const DAY = 24 * HOUR

const makeBot = (name: string, telegramBotId: number) =>
  new Bot({
    id: BotId.make(crypto.randomUUID()),
    name,
    tokenCiphertext: "c",
    tokenHint: "h",
    telegramBotId,
    username: `${name}_bot`,
    webhookSecret: "s",
    model: null,
    systemPrompt: "",
    startMessage: "",
    helpMessage: "",
    errorMessage: "",
    historyLimit: 20,
    active: true,
    lastError: null,
    lastErrorAt: null,
    pollingOffset: 0,
    createdAt: new Date(0),
    updatedAt: new Date(0)
  })

/** A bot, and a user message in a private chat with it for each time given (ms since epoch). */
const botWithMessages = Effect.fn(function* (
  name: string,
  telegramBotId: number,
  times: ReadonlyArray<number>
) {
  const bot = makeBot(name, telegramBotId)
  yield* BotRepository.use((bots) => bots.insert(bot))
  const chats = yield* ChatRepository
  const messages = yield* MessageRepository
  for (const [index, time] of times.entries()) {
    const user = new TgUser({
      telegramId: TelegramUserId.make(telegramBotId * 1000 + index),
      firstName: `user ${index}`,
      lastName: null,
      username: null,
      languageCode: null,
      isBot: false,
      firstSeenAt: new Date(0),
      lastSeenAt: new Date(0)
    })
    yield* chats.upsertUser(user)
    const chat = yield* chats.findOrCreate({
      botId: bot.id,
      telegramChatId: user.telegramId,
      type: "private",
      title: null,
      tgUserId: user.telegramId
    })
    yield* messages.insert(
      new Message({
        id: MessageId.make(crypto.randomUUID()),
        chatId: chat.id,
        botId: bot.id,
        role: "user",
        text: "hi",
        thread: 1,
        tgUserId: user.telegramId,
        updateId: null,
        replyTo: null,
        telegramMessageIds: [],
        chunksSent: 0,
        model: null,
        inputTokens: 0,
        outputTokens: 0,
        costUsd: 0,
        status: "received",
        error: null,
        createdAt: new Date(time),
        sentAt: null
      })
    )
  }
  return bot
})

describe("StatsService.get", () => {
  it.effect("a period is the day, week or 30 days up to now, now itself left out", () =>
    Effect.gen(function* () {
      yield* botWithMessages("alpha", 1, [
        NOW - HOUR,
        NOW - DAY, // the first instant of the day
        NOW - DAY - 1,
        NOW - 7 * DAY,
        NOW - 7 * DAY - 1,
        NOW - 30 * DAY,
        NOW - 30 * DAY - 1,
        NOW
      ])
      yield* TestClock.setTime(NOW)
      const service = yield* StatsService

      const day = yield* service.get({ period: "day", botId: null })
      assert.strictEqual(day.period, "day")
      assert.deepStrictEqual(day.to, new Date(NOW))
      assert.deepStrictEqual(day.from, new Date(NOW - DAY))
      assert.strictEqual(day.botId, null)
      assert.strictEqual(day.messagesIn, 2)
      assert.deepStrictEqual(
        day.series.map((entry) => entry.date),
        ["2025-03-30", "2025-03-31"]
      )

      const week = yield* service.get({ period: "week", botId: null })
      assert.strictEqual(week.period, "week")
      assert.deepStrictEqual(week.from, new Date(NOW - 7 * DAY))
      assert.deepStrictEqual(week.to, new Date(NOW))
      assert.strictEqual(week.messagesIn, 4)
      assert.strictEqual(week.series.length, 8)

      const month = yield* service.get({ period: "month", botId: null })
      assert.strictEqual(month.period, "month")
      assert.deepStrictEqual(month.from, new Date(NOW - 30 * DAY))
      assert.deepStrictEqual(month.to, new Date(NOW))
      assert.strictEqual(month.messagesIn, 6)
      assert.strictEqual(month.series[0]?.date, "2025-03-01")
      assert.strictEqual(month.series.length, 31)
    }).pipe(Effect.provide(twins()))
  )

  it.effect("the window follows the clock", () =>
    Effect.gen(function* () {
      yield* botWithMessages("alpha", 1, [NOW - HOUR])
      const service = yield* StatsService
      yield* TestClock.setTime(NOW)
      assert.strictEqual((yield* service.get({ period: "day", botId: null })).messagesIn, 1)
      yield* TestClock.adjust("2 days")
      const later = yield* service.get({ period: "day", botId: null })
      assert.deepStrictEqual(later.to, new Date(NOW + 2 * DAY))
      assert.strictEqual(later.messagesIn, 0)
    }).pipe(Effect.provide(twins()))
  )

  it.effect("one bot's numbers, named in the report", () =>
    Effect.gen(function* () {
      const alpha = yield* botWithMessages("alpha", 1, [NOW - HOUR, NOW - 2 * HOUR])
      const beta = yield* botWithMessages("beta", 2, [NOW - HOUR])
      yield* TestClock.setTime(NOW)
      const service = yield* StatsService

      const ofAlpha = yield* service.get({ period: "day", botId: alpha.id })
      assert.strictEqual(ofAlpha.botId, alpha.id)
      assert.strictEqual(ofAlpha.messagesIn, 2)
      assert.deepStrictEqual(
        ofAlpha.topBots.map((entry) => entry.botId),
        [alpha.id]
      )

      const all = yield* service.get({ period: "day", botId: null })
      assert.strictEqual(all.messagesIn, 3)
      assert.deepStrictEqual(
        all.topBots.map((entry) => entry.botId),
        [alpha.id, beta.id]
      )
    }).pipe(Effect.provide(twins()))
  )

  it.effect("top lists hold 10 entries unless asked otherwise", () =>
    Effect.gen(function* () {
      yield* botWithMessages(
        "alpha",
        1,
        Array.from({ length: 12 }, (_, index) => NOW - (index + 1) * 60_000)
      )
      yield* TestClock.setTime(NOW)
      const service = yield* StatsService
      assert.strictEqual((yield* service.get({ period: "day", botId: null })).topUsers.length, 10)
      assert.strictEqual((yield* service.get({ period: "day", botId: null, top: 3 })).topUsers.length, 3)
    }).pipe(Effect.provide(twins()))
  )

  it.effect("an unknown bot is BotNotFound", () =>
    Effect.gen(function* () {
      yield* botWithMessages("alpha", 1, [NOW - HOUR])
      yield* TestClock.setTime(NOW)
      const ghost = BotId.make(crypto.randomUUID())
      const error = yield* Effect.flip((yield* StatsService).get({ period: "week", botId: ghost }))
      assert.strictEqual(error._tag, "BotNotFound")
      assert.strictEqual(error.botId, ghost)
    }).pipe(Effect.provide(twins()))
  )
})
