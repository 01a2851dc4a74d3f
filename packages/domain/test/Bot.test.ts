import { assert, describe, it } from "@effect/vitest"
import { Bot, disable, enable, isWellFormedToken, markFailed, tokenHint, webhookUrl } from "../src/Bot.ts"
import { BotId } from "../src/ids.ts"

const at = new Date("2026-01-01T00:00:00Z")
const bot = new Bot({
  id: BotId.make("6f1c7a38-6b1e-4c55-9a53-3f4d2b6f0a11"),
  name: "Helper",
  tokenCiphertext: "v1:…",
  tokenHint: "123:…abcd",
  telegramBotId: 123,
  username: "helper_bot",
  webhookSecret: "s3cret",
  model: null,
  systemPrompt: "",
  startMessage: "hi",
  helpMessage: "help",
  errorMessage: "sorry",
  historyLimit: 20,
  active: false,
  lastError: "old problem",
  lastErrorAt: at,
  pollingOffset: 0,
  createdAt: at,
  updatedAt: at
})

describe("Bot transitions", () => {
  it("enable with a public URL sets the webhook to a URL with the bot id, never the token", () => {
    const later = new Date("2026-01-02T00:00:00Z")
    const { state, effects } = enable(bot, new URL("https://bots.example.com/base"), later)
    assert.isTrue(state.active)
    assert.isNull(state.lastError)
    assert.deepStrictEqual(effects, [
      {
        _tag: "TelegramSetWebhook",
        botId: bot.id,
        url: `https://bots.example.com/base/telegram/webhook/${bot.id}`
      },
      { _tag: "TelegramSetCommands", botId: bot.id }
    ])
    assert.strictEqual(state.updatedAt, later)
  })

  it("enable without a public URL removes any webhook so polling works", () => {
    const { state, effects } = enable(bot, undefined, at)
    assert.isTrue(state.active)
    assert.deepStrictEqual(effects, [
      { _tag: "TelegramRemoveWebhook", botId: bot.id },
      { _tag: "TelegramSetCommands", botId: bot.id }
    ])
  })

  it("disable removes the webhook; markFailed stops the bot and tells admins", () => {
    const active = enable(bot, undefined, at).state
    assert.deepStrictEqual(disable(active, at), {
      state: new Bot({ ...active, active: false }),
      effects: [{ _tag: "TelegramRemoveWebhook", botId: bot.id }]
    })
    const failed = markFailed(active, "token revoked", at)
    assert.isFalse(failed.state.active)
    assert.strictEqual(failed.state.lastError, "token revoked")
    assert.strictEqual(failed.effects[0]?._tag, "NotifyAdmins")
  })

  it("masks tokens and recognises their shape", () => {
    const token = "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw"
    assert.strictEqual(tokenHint(token), "123456789:…Dsaw")
    assert.isTrue(isWellFormedToken(token))
    assert.isFalse(isWellFormedToken("not a token"))
    assert.isFalse(isWellFormedToken("123:short"))
    assert.strictEqual(
      webhookUrl(new URL("https://x.example/"), bot.id),
      `https://x.example/telegram/webhook/${bot.id}`
    )
  })
})
