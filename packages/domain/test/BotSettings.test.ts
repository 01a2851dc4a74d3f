import { assert, describe, it } from "@effect/vitest"
import { NO_LIMITS } from "../src/Access.ts"
import {
  applyBotSettings,
  botSettingNames,
  botSettingsOf,
  DEFAULT_HELP_MESSAGE,
  initialBotSettings
} from "../src/BotSettings.ts"
import { BotCommand } from "../src/commands.ts"
import { testBot } from "./fixtures.ts"

describe("bot settings", () => {
  it("the default /help text names every command a bot understands", () => {
    for (const command of BotCommand) {
      assert.include(DEFAULT_HELP_MESSAGE, `/${command}`, `/${command} is missing from the default help`)
    }
  })

  it("a Bot holds every setting, with the table's initial values when none is given", () => {
    const bot = testBot()
    assert.deepStrictEqual(Object.keys(botSettingsOf(bot)), [...botSettingNames])
    assert.strictEqual(bot.vision, initialBotSettings.vision)
    assert.deepStrictEqual(bot.limits, NO_LIMITS)
    assert.strictEqual(bot.historyRetentionDays, null)
  })

  it("a patch replaces what it gives, keeps the rest, and merges the limits it names", () => {
    const current = botSettingsOf(
      testBot({ vision: true, model: "gpt-4o", limits: { ...NO_LIMITS, userMessagesPerDay: 5 } })
    )
    const next = applyBotSettings(current, {
      vision: false,
      model: null,
      limits: { botUsdPerMonth: 10 }
    })
    assert.strictEqual(next.vision, false)
    assert.strictEqual(next.model, null)
    assert.deepStrictEqual(next.limits, { ...NO_LIMITS, userMessagesPerDay: 5, botUsdPerMonth: 10 })
    assert.strictEqual(next.helpMessage, current.helpMessage)
    assert.deepStrictEqual(applyBotSettings(current, {}), current)
  })
})
