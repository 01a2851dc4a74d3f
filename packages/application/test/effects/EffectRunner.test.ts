/**
 * The effect runner's lanes on the in-memory twins: an alert webhook that
 * hangs until its timeout holds up only the alerts behind it, while a bot's
 * setWebhook and command menu go out at once, in their order.
 */
import { AlertWebhookMemory, TelegramGatewayMemory } from "@botfleet/adapters"
import { AlertService, BotService, EffectRunner, laneOf } from "@botfleet/application"
import { BotId, Languages } from "@botfleet/domain"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Redacted } from "effect"
import { TestClock } from "effect/testing"
import { harness, tokenFor } from "../harness.ts"

const { TelegramMemoryLog } = TelegramGatewayMemory
const { AlertWebhookLog } = AlertWebhookMemory

/** Lets forked fibers run until `check` holds (no time passes on the TestClock). */
const until = (check: Effect.Effect<boolean>) =>
  Effect.gen(function* () {
    for (let turn = 0; turn < 200; turn++) {
      if (yield* check) return
      yield* Effect.yieldNow
    }
    assert.fail("condition not met")
  })

describe("EffectRunner lanes", () => {
  it.effect("a hanging alert webhook does not delay a setWebhook queued behind it", () =>
    Effect.gen(function* () {
      const alerts = yield* AlertService
      const runner = yield* EffectRunner
      const webhook = yield* AlertWebhookLog
      const telegram = yield* TelegramMemoryLog
      yield* webhook.behave("hang")
      yield* alerts.updateSettings({ webhookUrl: Redacted.make("https://hooks.example.com/alerts") })
      // Two alerts first (oldest ids), then a bot enabled: setWebhook and the command menu.
      yield* alerts.broadcast({ kind: "digest", severity: "info", botId: null, text: "first" })
      yield* alerts.broadcast({ kind: "digest", severity: "info", botId: null, text: "second" })
      yield* telegram.registerBot(tokenFor(42), { id: 42, username: "h_bot", firstName: "h" })
      const bots = yield* BotService
      const bot = yield* bots.register({ name: "Helper", token: tokenFor(42) })
      yield* bots.enable(bot.id)

      assert.strictEqual(yield* runner.dispatchDue(50), 4)
      yield* until(Effect.map(telegram.commandMenus, (menus) => menus.has(42)))
      yield* until(Effect.map(telegram.languageMenus, (menus) => menus.size === Languages.length))
      assert.deepStrictEqual(
        (yield* telegram.webhookEvents).map((event) => event.type),
        ["set"],
        "setWebhook went out while the webhook hangs"
      )
      assert.deepStrictEqual(
        (yield* telegram.calls).filter((call) => call.method !== "getMe").map((call) => call.method),
        ["setWebhook", ...Array.from({ length: 1 + Languages.length }, () => "setMyCommands")],
        "one bot's effects in the order they were stored: the webhook, then a menu per language"
      )
      assert.strictEqual(yield* webhook.attempts, 1, "the second alert waits behind the first, in its lane")

      // The first alert times out (to be retried); only then does the second start.
      yield* webhook.behave("accept")
      yield* TestClock.adjust("5 seconds")
      yield* until(Effect.map(webhook.posted, (posted) => posted.length === 1))
      assert.strictEqual(yield* webhook.attempts, 2)
      assert.deepStrictEqual(
        (yield* webhook.posted).map((post) => (post.body as { text: string }).text),
        ["second"]
      )
    }).pipe(Effect.provide(harness({ publicUrl: "https://example.com" })))
  )

  it("lanes: one per bot; alerts by channel", () => {
    const botId = BotId.make("6f1c7a38-6b1e-4c55-9a53-3f4d2b6f0a11")
    const alert = {
      _tag: "DeliverAlert" as const,
      botId,
      kind: "bot_stopped",
      severity: "critical" as const,
      text: "t",
      at: "2026-01-01T00:00:00.000Z",
      senderBotId: botId
    }
    assert.strictEqual(laneOf({ _tag: "TelegramSetWebhook", botId, url: "https://x" }), `bot:${botId}`)
    assert.strictEqual(laneOf({ _tag: "TelegramSetCommands", botId }), `bot:${botId}`)
    assert.strictEqual(laneOf({ ...alert, channel: "webhook", telegramChatId: null }), "alert:webhook")
    assert.strictEqual(laneOf({ ...alert, channel: "telegram", telegramChatId: 7 }), "alert:telegram:7")
  })
})
