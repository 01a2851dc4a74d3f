/**
 * UsageLedger on PostgreSQL and on its twin, and the exactness
 * claim under concurrency: two independent connection pools (as two server
 * processes would have) reserve for the same user and bot at once.
 */

import { BotRepository, type UsageKey, UsageLedger } from "@botfleet/application"
import { type Bot, MessageId, NO_LIMITS } from "@botfleet/domain"
import { serverUrl, TestDatabase } from "@botfleet/testing"
import { assert, layer } from "@effect/vitest"
import { Context, Effect, Layer } from "effect"
import * as Database from "../../src/postgres/Database.ts"
import * as RepositoriesMemory from "../../src/repositories/RepositoriesMemory.ts"
import * as RepositoriesPg from "../../src/repositories/RepositoriesPg.ts"
import * as UsageLedgerPg from "../../src/usageLedger/UsageLedgerPg.ts"
import { storedBot } from "../repositories/fixtures.ts"

const at = new Date("2026-05-20T12:00:30Z")

const makeBot = storedBot

const key = (bot: Bot, userId: number | null): UsageKey => ({
  botId: bot.id,
  userId,
  messageId: MessageId.make(crypto.randomUUID())
})

const contract = (name: string, repositories: Layer.Layer<BotRepository | UsageLedger>) =>
  layer(repositories)(`usage ledger: ${name}`, (it) => {
    it.effect("a bot's access and limits are stored and read back", () =>
      Effect.gen(function* () {
        const bots = yield* BotRepository
        const bot = makeBot({
          access: "allowlist",
          allowedUserIds: [1, 8_000_000_001],
          allowedChatIds: [-1001234567890],
          blockedUserIds: [3],
          deniedMessage: "No.",
          limits: { ...NO_LIMITS, userMessagesPerDay: 3, userUsdPerMonth: 0.25 },
          limitMessage: "Wait until {reset}."
        })
        yield* bots.insert(bot)
        assert.deepStrictEqual(yield* bots.findById(bot.id), bot)
        const plain = makeBot()
        yield* bots.insert(plain)
        const read = yield* bots.findById(plain.id)
        assert.strictEqual(read.access, "open")
        assert.deepStrictEqual(read.limits, NO_LIMITS)
      })
    )

    it.effect("counts a message once per message id, and stops at the limit", () =>
      Effect.gen(function* () {
        const bot = makeBot()
        yield* (yield* BotRepository).insert(bot)
        const ledger = yield* UsageLedger
        const limits = { ...NO_LIMITS, userMessagesPerDay: 2 }
        const first = key(bot, 42)
        assert.strictEqual((yield* ledger.reserve(first, limits, at))._tag, "WithinLimits")
        // A rerun of the same message is let through and not counted again.
        assert.strictEqual((yield* ledger.reserve(first, limits, at))._tag, "WithinLimits")
        assert.strictEqual((yield* ledger.usage(bot.id, 42, at)).userMessagesToday, 1)
        assert.strictEqual((yield* ledger.reserve(key(bot, 42), limits, at))._tag, "WithinLimits")
        const over = yield* ledger.reserve(key(bot, 42), limits, at)
        assert.deepStrictEqual(over, {
          _tag: "OverLimit",
          limit: "userMessagesPerDay",
          windowStart: new Date("2026-05-20T00:00:00Z"),
          resetAt: new Date("2026-05-21T00:00:00Z")
        })
        assert.strictEqual((yield* ledger.usage(bot.id, 42, at)).userMessagesToday, 2)
        // Another user, and the next day, start from zero.
        assert.strictEqual((yield* ledger.reserve(key(bot, 43), limits, at))._tag, "WithinLimits")
        const tomorrow = new Date("2026-05-21T00:00:01Z")
        assert.strictEqual((yield* ledger.reserve(key(bot, 42), limits, tomorrow))._tag, "WithinLimits")
      })
    )

    it.effect("settling adds tokens and cost once, to the user and the bot", () =>
      Effect.gen(function* () {
        const bot = makeBot()
        yield* (yield* BotRepository).insert(bot)
        const ledger = yield* UsageLedger
        const message = key(bot, 7)
        yield* ledger.reserve(message, NO_LIMITS, at)
        yield* ledger.settle(message.messageId, { tokens: 120, costUsd: 0.015 })
        yield* ledger.settle(message.messageId, { tokens: 120, costUsd: 0.015 })
        const usage = yield* ledger.usage(bot.id, 7, at)
        assert.strictEqual(usage.userTokensToday, 120)
        assert.closeTo(usage.userUsdThisMonth, 0.015, 1e-12)
        assert.closeTo(usage.botUsdThisMonth, 0.015, 1e-12)
        const over = yield* ledger.reserve(key(bot, 8), { ...NO_LIMITS, botUsdPerMonth: 0.015 }, at)
        assert.strictEqual(over._tag === "OverLimit" && over.limit, "botUsdPerMonth")
      })
    )

    it.effect("a bot without limits records a message with its use in one step, once per message", () =>
      Effect.gen(function* () {
        const bot = makeBot()
        yield* (yield* BotRepository).insert(bot)
        const ledger = yield* UsageLedger
        const message = key(bot, 9)
        yield* ledger.record(message, { tokens: 50, costUsd: 0.002 }, at)
        yield* ledger.record(message, { tokens: 50, costUsd: 0.002 }, at)
        yield* ledger.record(key(bot, 9), { tokens: 30, costUsd: 0.001 }, at)
        // A channel post counts for the bot only.
        yield* ledger.record(key(bot, null), { tokens: 5, costUsd: 0.0005 }, at)
        const usage = yield* ledger.usage(bot.id, 9, at)
        assert.strictEqual(usage.userMessagesToday, 2)
        assert.strictEqual(usage.userTokensToday, 80)
        assert.closeTo(usage.userUsdThisMonth, 0.003, 1e-12)
        assert.closeTo(usage.botUsdThisMonth, 0.0035, 1e-12)
        const page = yield* ledger.listUsers(bot.id, at, { limit: 10 })
        assert.deepStrictEqual(
          page.items.map((user) => [user.telegramId, user.today.messages, user.thisMonth.tokens]),
          [[9, 2, 80]]
        )
        // Limits set later start from what was recorded.
        const over = yield* ledger.reserve(key(bot, 9), { ...NO_LIMITS, userMessagesPerDay: 2 }, at)
        assert.strictEqual(over._tag === "OverLimit" && over.limit, "userMessagesPerDay")
      })
    )

    it.effect("a notice is claimed once per user, kind and window", () =>
      Effect.gen(function* () {
        const bot = makeBot()
        yield* (yield* BotRepository).insert(bot)
        const ledger = yield* UsageLedger
        const day = new Date("2026-05-20T00:00:00Z")
        assert.isTrue(yield* ledger.claimNotice(bot.id, 9, "denied", day))
        assert.isFalse(yield* ledger.claimNotice(bot.id, 9, "denied", day))
        assert.isTrue(yield* ledger.claimNotice(bot.id, 10, "denied", day))
        assert.isTrue(yield* ledger.claimNotice(bot.id, 9, "denied", new Date("2026-05-21T00:00:00Z")))
      })
    )

    it.effect("users of a bot, paginated by Telegram id, with today's and this month's use", () =>
      Effect.gen(function* () {
        const bot = makeBot()
        yield* (yield* BotRepository).insert(bot)
        const ledger = yield* UsageLedger
        for (const user of [30, 10, 20]) {
          const message = key(bot, user)
          yield* ledger.reserve(message, NO_LIMITS, at)
          yield* ledger.settle(message.messageId, { tokens: user, costUsd: user / 1000 })
        }
        yield* ledger.recordDenied(bot.id, 40, at)
        yield* ledger.recordDenied(bot.id, null, new Date("2026-05-19T23:00:00Z"))
        assert.strictEqual(yield* ledger.deniedBetween(bot.id, at, new Date("2026-05-21T00:00:00Z")), 1)
        assert.strictEqual(
          yield* ledger.deniedBetween(
            bot.id,
            new Date("2026-05-19T12:00:00Z"),
            new Date("2026-05-21T00:00:00Z")
          ),
          2
        )
        assert.isAtLeast(yield* ledger.deniedBetween(null, at, new Date("2026-05-21T00:00:00Z")), 1)
        const first = yield* ledger.listUsers(bot.id, at, { limit: 2 })
        assert.deepStrictEqual(
          first.items.map((user) => user.telegramId),
          [10, 20]
        )
        assert.deepStrictEqual(first.items[0]?.today, { messages: 1, tokens: 10, costUsd: 0.01, denied: 0 })
        const second = yield* ledger.listUsers(bot.id, at, { limit: 2, cursor: first.nextCursor ?? "" })
        assert.deepStrictEqual(
          second.items.map((user) => [user.telegramId, user.thisMonth.denied]),
          [
            [30, 0],
            [40, 1]
          ]
        )
        assert.strictEqual(second.nextCursor, null)
      })
    )
  })

const postgres = RepositoriesPg.layer.pipe(
  Layer.provideMerge(TestDatabase.layer(serverUrl(), Database.layerAt))
)

contract("postgres", postgres)
contract("memory", RepositoriesMemory.layer)

/** A second, independent pool on the same database: what another process would have. */
const otherProcess = Layer.unwrap(
  Effect.gen(function* () {
    const db = yield* TestDatabase.TestDatabase
    return UsageLedgerPg.layer.pipe(Layer.provide(Database.layerAt(db.url)))
  })
).pipe(Layer.orDie)

/** The other pool's ledger, open for the rest of the test. */
const otherLedger = Effect.map(Layer.build(otherProcess), (context) => Context.get(context, UsageLedger))

layer(postgres)("usage ledger: two pools at once", (it) => {
  it.effect("200 concurrent messages for one user with userMessagesPerDay 37: exactly 37 go through", () =>
    Effect.gen(function* () {
      const bot = makeBot()
      yield* (yield* BotRepository).insert(bot)
      const here = yield* UsageLedger
      const there = yield* otherLedger
      const limits = { ...NO_LIMITS, userMessagesPerDay: 37, userMessagesPerMinute: 1000 }
      const results = yield* Effect.forEach(
        Array.from({ length: 200 }, (_, i) => (i % 2 === 0 ? here : there)),
        (ledger) => ledger.reserve(key(bot, 77), limits, at),
        { concurrency: 40 }
      )
      assert.strictEqual(results.filter((r) => r._tag === "WithinLimits").length, 37)
      assert.strictEqual((yield* here.usage(bot.id, 77, at)).userMessagesToday, 37)
    })
  )

  it.effect("a bot budget with replies of known cost: reached, never overshot beyond those in flight", () =>
    Effect.gen(function* () {
      const bot = makeBot()
      yield* (yield* BotRepository).insert(bot)
      const here = yield* UsageLedger
      const there = yield* otherLedger
      const budget = 0.1
      const replyCost = 0.01
      const inFlight = 8
      // Each "reply": reserve, then (other replies run meanwhile) settle its known cost.
      const handle = (i: number) =>
        Effect.gen(function* () {
          const ledger = i % 2 === 0 ? here : there
          const message = key(bot, 1_000 + i)
          const check = yield* ledger.reserve(message, { ...NO_LIMITS, botUsdPerMonth: budget }, at)
          if (check._tag === "OverLimit") return false
          yield* Effect.yieldNow
          yield* ledger.settle(message.messageId, { tokens: 10, costUsd: replyCost })
          return true
        })
      const answered = (yield* Effect.forEach(
        Array.from({ length: 100 }, (_, i) => i),
        handle,
        {
          concurrency: inFlight
        }
      )).filter(Boolean).length
      const spent = (yield* here.usage(bot.id, null, at)).botUsdThisMonth
      assert.isAtLeast(spent, budget - 1e-9)
      assert.isAtMost(spent, budget + inFlight * replyCost + 1e-9)
      assert.closeTo(spent, answered * replyCost, 1e-9)
      const next = yield* there.reserve(key(bot, 5), { ...NO_LIMITS, botUsdPerMonth: budget }, at)
      assert.strictEqual(next._tag, "OverLimit")
    })
  )
})
