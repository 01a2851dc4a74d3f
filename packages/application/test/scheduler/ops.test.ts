/**
 * The scheduler, retention, alerts and failure use cases on the in-memory twins (the PostgreSQL versions are
 * tested in packages/adapters/test/scheduler and packages/server/test/api):
 * one run per tick, history retention that leaves the stats unchanged, the
 * budget alert and its "resolved", and a failed effect listed and retried.
 */
import { AlertWebhookMemory, TelegramGatewayMemory } from "@botfleet/adapters"
import {
  AlertService,
  alertsJob,
  BotService,
  EffectRunner,
  FailureLog,
  historyRetentionJob,
  type Job,
  JobRuns,
  Scheduler,
  StatsRepository
} from "@botfleet/application"
import { assert, describe, it } from "@effect/vitest"
import { Clock, Effect, Redacted } from "effect"
import { TestClock } from "effect/testing"
import { addBot, harness, messagesOf, processUpdate, textUpdate } from "../harness.ts"

const { AlertWebhookLog } = AlertWebhookMemory
const { TelegramErrors, TelegramMemoryLog } = TelegramGatewayMemory

const DAY_MS = 86_400_000

describe("Scheduler on JobRunsMemory", () => {
  it.effect("two processes: each tick runs once, the next tick runs again, status shows the last run", () =>
    Effect.gen(function* () {
      let runs = 0
      const job: Job = {
        name: "count",
        everySeconds: 60,
        timeoutSeconds: 30,
        run: Effect.sync(() => `run ${++runs}`)
      }
      const first = yield* Scheduler.make([job], "process-a")
      const second = yield* Scheduler.make([job], "process-b")
      yield* TestClock.adjust("90 seconds")
      assert.deepStrictEqual(yield* first.runDue, ["count"])
      assert.deepStrictEqual(yield* second.runDue, [], "the tick is taken")
      assert.deepStrictEqual(yield* first.runDue, [])
      assert.strictEqual(runs, 1)

      yield* TestClock.adjust("60 seconds")
      assert.deepStrictEqual(yield* second.runDue, ["count"], "the next tick, by whoever looks first")
      assert.strictEqual(runs, 2)
      const [status] = yield* first.status
      assert.strictEqual(status?.lastRun?.owner, "process-b")
      assert.strictEqual(status?.lastRun?.outcome, "ok")
      assert.strictEqual(status?.lastRun?.detail, "run 2")
      assert.strictEqual(status?.lastRun?.tick.getTime(), 120_000)
      assert.strictEqual(status?.nextTick.getTime(), 180_000)
      assert.strictEqual(yield* (yield* JobRuns).purge(new Date(150_001)), 2, "both runs started before")
    }).pipe(Effect.provide(harness()))
  )
})

describe("history retention on the twins", () => {
  it.effect("deletes the messages past historyRetentionDays; every stats window stays the same", () =>
    Effect.gen(function* () {
      const { bot } = yield* addBot()
      const { bot: keeper } = yield* addBot({ telegramId: 700_002, username: "keeper_bot" })
      yield* processUpdate(bot, textUpdate(1, "ten days ago"))
      yield* processUpdate(keeper, textUpdate(2, "kept forever"))
      yield* TestClock.adjust("7 days")
      yield* processUpdate(bot, textUpdate(3, "three days ago"))
      yield* TestClock.adjust("3 days")
      yield* processUpdate(bot, textUpdate(4, "today"))

      const stats = yield* StatsRepository
      const now = yield* Clock.currentTimeMillis
      const windows = [1, 7, 30].flatMap((days) =>
        [null, bot.id].map((botId) => ({
          from: new Date(now - days * DAY_MS),
          to: new Date(now),
          botId,
          top: 10
        }))
      )
      const before = yield* Effect.forEach(windows, stats.compute)
      assert.strictEqual(before[5]!.messagesIn, 3, "the bot's month holds all three")
      assert.isAbove(before[5]!.costUsd, 0)

      yield* (yield* BotService).update(bot.id, { historyRetentionDays: 2 })
      const job = yield* historyRetentionJob
      assert.strictEqual(yield* job.run, "deleted 4 messages of 1 bots with a retention")
      assert.deepStrictEqual(
        (yield* messagesOf(bot)).map((message) => message.text),
        ["today", "echo: today"]
      )
      assert.strictEqual((yield* messagesOf(keeper)).length, 2, "a bot without a retention keeps everything")
      const after = yield* Effect.forEach(windows, stats.compute)
      assert.deepStrictEqual(after, before)
      assert.strictEqual(yield* job.run, "deleted 0 messages of 1 bots with a retention")
    }).pipe(Effect.provide(harness()))
  )
})

describe("budget_reached alert on the twins", () => {
  it.effect("once per cooldown; resolved when the limit is raised, or when the month turns", () =>
    Effect.gen(function* () {
      const alerts = yield* AlertService
      const runner = yield* EffectRunner
      const webhook = yield* AlertWebhookLog
      yield* alerts.updateSettings({ webhookUrl: Redacted.make("https://hooks.example.com/a") })
      const tiny = { limits: { botUsdPerMonth: 0.0000001 } }
      const { bot: raised } = yield* addBot({ telegramId: 700_010, username: "raised_bot", ...tiny })
      const { bot: monthly } = yield* addBot({ telegramId: 700_011, username: "monthly_bot", ...tiny })
      yield* processUpdate(raised, textUpdate(1, "spend it", 9001))
      yield* processUpdate(monthly, textUpdate(2, "spend it too", 9002))

      const job = yield* alertsJob({ queueMaxAgeSeconds: 300 })
      const evaluate = Effect.andThen(job.run, runner.runDue(50))
      const kinds = Effect.map(webhook.posted, (posted) =>
        posted.map((post) => {
          const body = post.body as { kind: string; botId: string | null; severity: string }
          return `${body.kind}:${body.botId === raised.id ? "raised" : body.botId === monthly.id ? "monthly" : body.botId}`
        })
      )
      yield* evaluate
      assert.deepStrictEqual((yield* kinds).toSorted(), ["budget_reached:monthly", "budget_reached:raised"])
      const first = (yield* webhook.posted)[0]!.body as { severity: string; text: string }
      assert.strictEqual(first.severity, "warning")
      assert.match(
        first.text,
        /reached its monthly budget: \$0\.00 of \$0\.00; it answers with its limit message until /
      )

      yield* TestClock.adjust("15 seconds")
      yield* evaluate
      assert.strictEqual((yield* kinds).length, 2, "still over budget: nothing more within the cooldown")

      yield* (yield* BotService).update(raised.id, { limits: { botUsdPerMonth: 1000 } })
      yield* evaluate
      assert.deepStrictEqual((yield* kinds).slice(2), ["resolved:raised"])

      // The TestClock starts on 1 January 1970: 31 days later it is February.
      yield* TestClock.adjust("31 days")
      yield* evaluate
      assert.deepStrictEqual((yield* kinds).slice(3), ["resolved:monthly"])
    }).pipe(Effect.provide(harness()))
  )
})

describe("FailureLogMemory", () => {
  it.effect("a setWebhook refused until it gives up is listed; a retry succeeds once Telegram accepts", () =>
    Effect.gen(function* () {
      const telegram = yield* TelegramMemoryLog
      const runner = yield* EffectRunner
      const failures = yield* FailureLog
      yield* telegram.failNext("setWebhook", TelegramErrors.unavailable("setWebhook"), 10)
      const { bot } = yield* addBot()
      // addBot ran the first attempt; nine more, each after its backoff.
      for (let attempt = 2; attempt <= 10; attempt++) {
        yield* TestClock.adjust("301 seconds")
        yield* runner.runDue(10)
      }
      const page = yield* failures.list({ kind: "effect" }, { limit: 50 })
      assert.strictEqual(page.items.length, 1)
      const failed = page.items[0]!
      assert.strictEqual(failed.summary, "TelegramSetWebhook")
      assert.strictEqual(failed.botId, bot.id)
      assert.strictEqual(failed.attempts, 10)
      assert.deepStrictEqual(yield* failures.list({ kind: "message" }, { limit: 50 }), {
        items: [],
        nextCursor: null
      })

      const id = Number(failed.ref.split(":")[1])
      assert.strictEqual(yield* failures.requeueEffect(id), "requeued")
      assert.strictEqual(yield* failures.requeueEffect(id), "not_failed")
      assert.strictEqual(yield* failures.requeueEffect(999_999), "missing")
      yield* runner.runDue(10)
      assert.deepStrictEqual(
        (yield* telegram.webhookEvents).map((event) => event.type),
        ["set"]
      )
      assert.strictEqual((yield* failures.list({}, { limit: 50 })).items.length, 0)
    }).pipe(Effect.provide(harness({ publicUrl: "https://example.com" })))
  )
})
