/** A bot as the domain tests need it: every field set, any of them overridable. */
import { Bot } from "../src/Bot.ts"
import { BotId } from "../src/ids.ts"

export const at = new Date("2026-01-01T00:00:00Z")

export const testBot = (overrides: Partial<ConstructorParameters<typeof Bot>[0]> = {}) =>
  new Bot({
    id: BotId.make("6f1c7a38-6b1e-4c55-9a53-3f4d2b6f0a11"),
    name: "Helper",
    tokenCiphertext: "v1:…",
    tokenHint: "123:…abcd",
    telegramBotId: 123,
    username: "helper_bot",
    webhookSecret: "s3cret",
    model: null,
    systemPrompt: "",
    startMessage: "Welcome!",
    helpMessage: "Ask me anything.",
    errorMessage: "sorry",
    historyLimit: 20,
    active: true,
    lastError: null,
    lastErrorAt: null,
    pollingOffset: 0,
    createdAt: at,
    updatedAt: at,
    ...overrides
  })
