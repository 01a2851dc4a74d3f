import { TelegramGatewayMemory } from "@botfleet/adapters"
import { BotService, EffectRunner, SecretBox, TelegramGateway } from "@botfleet/application"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Redacted } from "effect"
import { TestClock } from "effect/testing"
import { addBot, claimEffects, harness, tokenFor } from "../harness.ts"

const { TelegramErrors, TelegramMemoryLog } = TelegramGatewayMemory

/** Makes a bot known to the Telegram twin only (not to the fleet). */
const knownToTelegram = (telegramId: number, username: string) =>
  Effect.as(
    TelegramMemoryLog.use((log) =>
      log.registerBot(tokenFor(telegramId), { id: telegramId, username, firstName: username })
    ),
    tokenFor(telegramId)
  )

describe("BotService.register", () => {
  it.effect("refuses a malformed token without asking Telegram, and stores nothing", () =>
    Effect.gen(function* () {
      const service = yield* BotService
      const log = yield* TelegramMemoryLog
      for (const token of ["", "not-a-token", "123456789:short", "abc:AAHxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"]) {
        const error = yield* Effect.flip(service.register({ name: "Helper", token: Redacted.make(token) }))
        assert.strictEqual(error._tag, "InvalidBotToken")
      }
      assert.deepStrictEqual(yield* service.list, [])
      assert.deepStrictEqual(yield* log.calls, [])
    }).pipe(Effect.provide(harness()))
  )

  it.effect("refuses a token Telegram does not know, and stores nothing", () =>
    Effect.gen(function* () {
      const service = yield* BotService
      const error = yield* Effect.flip(service.register({ name: "Helper", token: tokenFor(123_456_789) }))
      assert.strictEqual(error._tag, "InvalidBotToken")
      assert.deepStrictEqual(yield* service.list, [])
      assert.deepStrictEqual(yield* TelegramMemoryLog.use((log) => log.calls), [
        { method: "getMe", botId: null }
      ])
    }).pipe(Effect.provide(harness()))
  )

  it.effect("stores a good token encrypted and masked, with Telegram's username, inactive", () =>
    Effect.gen(function* () {
      const token = yield* knownToTelegram(123_456_789, "Helper_Bot")
      const service = yield* BotService
      const registered = yield* service.register({ name: "  Helper  ", token })
      const stored = yield* service.get(registered.id)
      const plain = Redacted.value(token)
      const secretPart = plain.split(":")[1]!
      assert.notStrictEqual(stored.tokenCiphertext, plain)
      assert.notInclude(stored.tokenCiphertext, secretPart)
      assert.strictEqual(
        Redacted.value(yield* SecretBox.use((box) => box.decrypt(stored.tokenCiphertext))),
        plain
      )
      assert.strictEqual(stored.tokenHint, `123456789:…${plain.slice(-4)}`)
      assert.notInclude(stored.tokenHint, secretPart)
      assert.strictEqual(stored.username, "Helper_Bot")
      assert.strictEqual(stored.telegramBotId, 123_456_789)
      assert.strictEqual(stored.name, "Helper")
      assert.isFalse(stored.active)
      assert.isAbove(stored.webhookSecret.length, 16)
      assert.deepStrictEqual(yield* service.list, [stored])
    }).pipe(Effect.provide(harness()))
  )

  it.effect("refuses a name another bot has, whatever its case, and a token already registered", () =>
    Effect.gen(function* () {
      const service = yield* BotService
      const { bot } = yield* addBot({ name: "Support", telegramId: 111 })
      const other = yield* knownToTelegram(222, "other_bot")
      const nameTaken = yield* Effect.flip(service.register({ name: " support ", token: other }))
      assert.strictEqual(nameTaken._tag, "BotNameTaken")
      const tokenInUse = yield* Effect.flip(service.register({ name: "Support 2", token: tokenFor(111) }))
      assert.strictEqual(tokenInUse._tag, "BotTokenInUse")
      assert.deepStrictEqual(
        (yield* service.list).map((stored) => stored.id),
        [bot.id]
      )
    }).pipe(Effect.provide(harness()))
  )
})

describe("BotService.enable and disable", () => {
  it.effect.each([
    { publicUrl: "https://fleet.example.com", base: "https://fleet.example.com" },
    { publicUrl: "https://example.com/fleet/", base: "https://example.com/fleet" }
  ])(
    "with PUBLIC_URL $publicUrl: active, and the runner sets the webhook with the bot's secret",
    ({ publicUrl, base }) =>
      Effect.gen(function* () {
        const service = yield* BotService
        const log = yield* TelegramMemoryLog
        const registered = yield* service.register({
          name: "Helper",
          token: yield* knownToTelegram(42, "h_bot")
        })
        const enabled = yield* service.enable(registered.id)
        assert.isTrue(enabled.active)
        assert.isTrue((yield* service.get(registered.id)).active)
        // Nothing talks to Telegram until the runner carries the effect out.
        assert.deepStrictEqual(yield* log.webhookEvents, [])
        // The webhook, then the command menu (conversations).
        assert.strictEqual(yield* EffectRunner.use((runner) => runner.runDue(10)), 2)
        assert.deepStrictEqual(
          yield* log.commandMenus,
          new Map([[42, ["start", "help", "new", "retry", "mode", "memory", "usage"]]])
        )
        assert.deepStrictEqual(yield* log.webhookEvents, [
          {
            botId: 42,
            type: "set",
            url: `${base}/telegram/webhook/${registered.id}`,
            secretToken: registered.webhookSecret
          }
        ])
      }).pipe(Effect.provide(harness({ publicUrl })))
  )

  it.effect("without PUBLIC_URL: active, and the webhook is removed so that polling works", () =>
    Effect.gen(function* () {
      const service = yield* BotService
      const registered = yield* service.register({
        name: "Helper",
        token: yield* knownToTelegram(42, "h_bot")
      })
      assert.isTrue((yield* service.enable(registered.id)).active)
      assert.deepStrictEqual(yield* claimEffects, [
        { _tag: "TelegramRemoveWebhook", botId: registered.id },
        { _tag: "TelegramSetCommands", botId: registered.id }
      ])
      // The claim above holds the effect for a minute; then the runner gets it.
      yield* TestClock.adjust("61 seconds")
      yield* EffectRunner.use((runner) => runner.runDue(10))
      assert.deepStrictEqual(
        (yield* TelegramMemoryLog.use((log) => log.webhookEvents)).map((event) => event.type),
        ["deleted"]
      )
    }).pipe(Effect.provide(harness()))
  )

  it.effect("a bot disabled before its command menu was set gets none (conversations)", () =>
    Effect.gen(function* () {
      const service = yield* BotService
      const registered = yield* service.register({
        name: "Helper",
        token: yield* knownToTelegram(42, "h_bot")
      })
      yield* service.enable(registered.id)
      yield* service.disable(registered.id)
      yield* EffectRunner.use((runner) => runner.runDue(10))
      assert.deepStrictEqual(yield* TelegramMemoryLog.use((log) => log.commandMenus), new Map())
    }).pipe(Effect.provide(harness()))
  )

  it.effect("disable: inactive, and the webhook is removed", () =>
    Effect.gen(function* () {
      const service = yield* BotService
      const { bot, token } = yield* addBot()
      const disabled = yield* service.disable(bot.id)
      assert.isFalse(disabled.active)
      assert.isFalse((yield* service.get(bot.id)).active)
      yield* EffectRunner.use((runner) => runner.runDue(10))
      assert.deepStrictEqual(
        (yield* TelegramMemoryLog.use((log) => log.webhookEvents)).map((event) => event.type),
        ["set", "deleted"]
      )
      assert.strictEqual((yield* TelegramGateway.use((telegram) => telegram.getWebhookInfo(token))).url, "")
    }).pipe(Effect.provide(harness({ publicUrl: "https://fleet.example.com" })))
  )

  // BUG: EffectRunner.ts runs TelegramRemoveWebhook whenever the bot exists. A removal
  // that failed and was rescheduled runs after the later enable's setWebhook and takes
  // the webhook away from an active bot, which then gets no updates.
  it.effect("a removal retried after a later enable leaves the active bot's webhook in place", () =>
    Effect.gen(function* () {
      const service = yield* BotService
      const runner = yield* EffectRunner
      const { bot, token } = yield* addBot()
      yield* TelegramMemoryLog.use((log) =>
        log.failNext("deleteWebhook", TelegramErrors.unavailable("deleteWebhook"))
      )
      yield* service.disable(bot.id)
      yield* service.enable(bot.id)
      yield* runner.runDue(10)
      yield* TestClock.adjust("5 seconds")
      yield* runner.runDue(10)
      assert.isTrue((yield* service.get(bot.id)).active)
      assert.strictEqual(
        (yield* TelegramGateway.use((telegram) => telegram.getWebhookInfo(token))).url,
        `https://fleet.example.com/telegram/webhook/${bot.id}`
      )
    }).pipe(Effect.provide(harness({ publicUrl: "https://fleet.example.com" })))
  )
})

describe("BotService.update and remove", () => {
  it.effect("refuses the token of another bot and keeps the stored one", () =>
    Effect.gen(function* () {
      const service = yield* BotService
      const { bot } = yield* addBot({ telegramId: 111 })
      const other = yield* knownToTelegram(222, "other_bot")
      const error = yield* Effect.flip(service.update(bot.id, { token: other, systemPrompt: "changed" }))
      assert.strictEqual(error._tag, "InvalidBotToken")
      assert.deepStrictEqual(yield* service.get(bot.id), bot)
    }).pipe(Effect.provide(harness()))
  )

  it.effect("rotates a new token of the same bot and sets the webhook again with a new secret", () =>
    Effect.gen(function* () {
      const service = yield* BotService
      const log = yield* TelegramMemoryLog
      const { bot } = yield* addBot({ telegramId: 111 })
      const rotated = Redacted.make(`111:${"R".repeat(35)}`)
      yield* log.registerBot(rotated, { id: 111, username: "renamed_bot", firstName: "Helper" })
      const updated = yield* service.update(bot.id, { token: rotated })
      assert.strictEqual(updated.tokenHint, "111:…RRRR")
      assert.strictEqual(updated.username, "renamed_bot")
      assert.notStrictEqual(updated.webhookSecret, bot.webhookSecret)
      assert.deepStrictEqual(yield* service.get(bot.id), updated)
      yield* EffectRunner.use((runner) => runner.runDue(10))
      const last = (yield* log.webhookEvents).at(-1)
      assert.deepStrictEqual(last, {
        botId: 111,
        type: "set",
        url: `https://fleet.example.com/telegram/webhook/${bot.id}`,
        secretToken: updated.webhookSecret
      })
    }).pipe(Effect.provide(harness({ publicUrl: "https://fleet.example.com" })))
  )

  it.effect("remove: the bot is gone and its webhook deleted", () =>
    Effect.gen(function* () {
      const service = yield* BotService
      const { bot, token } = yield* addBot()
      yield* service.remove(bot.id)
      assert.strictEqual((yield* Effect.flip(service.get(bot.id)))._tag, "BotNotFound")
      assert.deepStrictEqual(yield* service.list, [])
      assert.strictEqual((yield* TelegramGateway.use((telegram) => telegram.getWebhookInfo(token))).url, "")
      assert.strictEqual((yield* Effect.flip(service.remove(bot.id)))._tag, "BotNotFound")
    }).pipe(Effect.provide(harness({ publicUrl: "https://fleet.example.com" })))
  )
})
