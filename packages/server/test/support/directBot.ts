/**
 * Tests that run the server as a child process insert their bot straight into
 * the database (as crash.test.ts does): no admin API, no webhook setup, the
 * token encrypted with the same SECRETS_KEY the child gets.
 */
import { randomBytes, randomUUID } from "node:crypto"
import { BotRepository, SecretBox } from "@botfleet/application"
import { Bot, BotId, BotModel } from "@botfleet/domain"
import type { FakeTelegram } from "@botfleet/testing"
import { Effect, Redacted } from "effect"
import { makeToken } from "./testConfig.ts"

/** Registers a bot at the fake Telegram and inserts it, active, into the database. */
export const insertActiveBot = (telegram: FakeTelegram.FakeTelegramServer, name: string) =>
  Effect.gen(function* () {
    const token = makeToken()
    const telegramBotId = Number(token.split(":")[0])
    const username = `${name.replace(/\W/g, "_").toLowerCase()}_bot`
    telegram.registerBot(token, { id: telegramBotId, username, firstName: name })
    const now = new Date()
    const bot = new Bot({
      id: BotId.make(randomUUID()),
      name,
      tokenCiphertext: yield* (yield* SecretBox).encrypt(Redacted.make(token)),
      tokenHint: BotModel.tokenHint(token),
      telegramBotId,
      username,
      webhookSecret: randomBytes(16).toString("hex"),
      model: null,
      systemPrompt: "",
      startMessage: "hi",
      helpMessage: "help",
      errorMessage: "sorry",
      historyLimit: 10,
      active: true,
      lastError: null,
      lastErrorAt: null,
      pollingOffset: 0,
      createdAt: now,
      updatedAt: now
    })
    yield* (yield* BotRepository).insert(bot).pipe(Effect.orDie)
    return { bot, token }
  })
