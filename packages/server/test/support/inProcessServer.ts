/**
 * The real server, in this process, on this test file's database, talking to
 * local fake Telegram and OpenAI servers: for webhook and end-to-end tests.
 */
import { FakeOpenAI, FakeTelegram, serverUrl, TestDatabase } from "@botfleet/adapters/testing"
import { BotService } from "@botfleet/application"
import type { Bot } from "@botfleet/domain"
import { Context, Effect, Layer, Option, Redacted } from "effect"
import { SqlClient } from "effect/sql"
import type { AppConfigShape } from "../../src/config/AppConfig.ts"
import * as Logging from "../../src/observability/Logging.ts"
import { serverLayer } from "../../src/Server.ts"
import { freePort } from "./serverProcess.ts"
import { makeToken, testConfig } from "./testConfig.ts"

export class TestServer extends Context.Service<
  TestServer,
  {
    readonly baseUrl: string
    readonly telegram: FakeTelegram.FakeTelegramServer
    readonly openai: FakeOpenAI.FakeOpenAI
    readonly sql: SqlClient.SqlClient
    readonly bots: BotService["Service"]
    /** Registers a bot (known to the fake Telegram) and enables it. */
    readonly addBot: (name: string) => Effect.Effect<{ readonly bot: Bot; readonly token: string }>
  }
>()("test/TestServer") {}

export const layer = (overrides: (base: AppConfigShape) => Partial<AppConfigShape> = () => ({})) =>
  Layer.effect(
    TestServer,
    Effect.gen(function* () {
      const database = yield* TestDatabase.TestDatabase
      const telegram = yield* FakeTelegram.make()
      const openai = yield* FakeOpenAI.make({ record: false })
      const port = yield* Effect.promise(freePort)
      const baseUrl = `http://127.0.0.1:${port}`
      const base = testConfig({
        port,
        databaseUrl: Option.some(database.url),
        telegramApiRoot: telegram.apiRoot,
        openaiBaseUrl: Option.some(openai.baseUrl),
        publicUrl: Option.some(new URL(baseUrl))
      })
      const config = { ...base, ...overrides(base) }
      const context = yield* Layer.build(
        serverLayer(config).pipe(Layer.provide(Logging.layer({ format: "json", level: config.logLevel })))
      )
      const bots = Context.get(context, BotService)
      const addBot = (name: string) =>
        Effect.gen(function* () {
          const token = makeToken()
          const id = Number(token.split(":")[0])
          telegram.registerBot(token, { id, username: `${name.replace(/\W/g, "_")}_bot`, firstName: name })
          const registered = yield* bots.register({ name, token: Redacted.make(token) })
          const bot = yield* bots.enable(registered.id)
          return { bot, token }
        }).pipe(Effect.orDie)
      return TestServer.of({
        baseUrl,
        telegram,
        openai,
        sql: Context.get(context, SqlClient.SqlClient),
        bots,
        addBot
      })
    })
  ).pipe(Layer.provide(TestDatabase.layer(serverUrl())))

/** Posts an update to a bot's webhook the way Telegram does. */
export const postUpdate = (
  baseUrl: string,
  bot: Bot,
  body: unknown,
  options: { readonly secret?: string | null; readonly rawBody?: string } = {}
) =>
  Effect.promise(async () => {
    const secret = options.secret === undefined ? bot.webhookSecret : options.secret
    const response = await fetch(`${baseUrl}/telegram/webhook/${bot.id}`, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        ...(secret === null ? {} : { "x-telegram-bot-api-secret-token": secret })
      },
      body: options.rawBody ?? JSON.stringify(body)
    })
    return { status: response.status, body: (await response.json()) as Record<string, unknown> }
  })

let nextUpdateId = 1
export const textUpdate = (chatId: number, text: string, updateId = nextUpdateId++) => ({
  update_id: updateId,
  message: {
    message_id: updateId,
    date: Math.floor(Date.now() / 1000),
    chat: { id: chatId, type: "private", first_name: "Ann" },
    from: { id: chatId, is_bot: false, first_name: "Ann", language_code: "en" },
    text
  }
})

/** Waits (really: it is an end-to-end test) until `check` holds, or fails after `timeoutMs`. */
export const eventually = <A>(check: () => A | undefined | false, timeoutMs = 20_000) =>
  Effect.promise(async () => {
    const started = Date.now()
    while (Date.now() - started < timeoutMs) {
      const value = check()
      if (value !== undefined && value !== false) return value
      await new Promise((resolve) => setTimeout(resolve, 20))
    }
    throw new Error(`condition not met within ${timeoutMs} ms`)
  })
