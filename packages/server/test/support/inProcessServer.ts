/**
 * The real server, in this process, on this test file's database, talking to
 * local fake Telegram and OpenAI servers: for webhook and end-to-end tests.
 */
import { Database } from "@botfleet/adapters/postgres"
import { BotService } from "@botfleet/application"
import type { Bot } from "@botfleet/domain"
import { FakeOpenAI, FakeTelegram, serverUrl, TestDatabase } from "@botfleet/testing"
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
    /** What the server wrote to stdout and stderr (its log lines), with `captureOutput`; else empty. */
    readonly output: () => string
  }
>()("test/TestServer") {}

export interface LayerOptions {
  /** Keep every request the fake OpenAI gets (default false: the end-to-end test sends many). */
  readonly recordLlmRequests?: boolean
  /**
   * Take over process.stdout/stderr while the server runs and keep what is
   * written (not echoed), so a test can read the real log lines.
   */
  readonly captureOutput?: boolean
  /** How long a request may take to arrive (default: the server's 30 s). */
  readonly bodyTimeoutMs?: number
}

/** Swaps process.stdout/stderr writes for a recorder until the scope closes. */
const captureProcessOutput = Effect.acquireRelease(
  Effect.sync(() => {
    const chunks: Array<string> = []
    const originals = { stdout: process.stdout.write, stderr: process.stderr.write }
    const recorder = ((chunk: string | Uint8Array, ...rest: Array<unknown>) => {
      chunks.push(typeof chunk === "string" ? chunk : Buffer.from(chunk).toString("utf8"))
      const callback = rest.find((arg) => typeof arg === "function") as (() => void) | undefined
      callback?.()
      return true
    }) as typeof process.stdout.write
    process.stdout.write = recorder
    process.stderr.write = recorder
    return { chunks, originals }
  }),
  ({ originals }) =>
    Effect.sync(() => {
      process.stdout.write = originals.stdout
      process.stderr.write = originals.stderr
    })
)

export const layer = (
  overrides: (base: AppConfigShape) => Partial<AppConfigShape> = () => ({}),
  options: LayerOptions = {}
) =>
  Layer.effect(
    TestServer,
    Effect.gen(function* () {
      const database = yield* TestDatabase.TestDatabase
      const telegram = yield* FakeTelegram.make()
      const openai = yield* FakeOpenAI.make({ record: options.recordLlmRequests ?? false })
      const captured = options.captureOutput ? yield* captureProcessOutput : undefined
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
        serverLayer(config, { bodyTimeoutMs: options.bodyTimeoutMs }).pipe(
          Layer.provide(Logging.layer({ format: "json", level: config.logLevel }))
        )
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
        addBot,
        output: () => captured?.chunks.join("") ?? ""
      })
    })
  ).pipe(Layer.provide(TestDatabase.layer(serverUrl(), Database.layerAt)))

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

/** A bot that exists at the fake Telegram (getMe answers for its token) but not in Botfleet yet. */
export const telegramBot = (
  telegram: FakeTelegram.FakeTelegramServer,
  name: string,
  botNumber?: number
): { readonly token: string; readonly telegramId: number; readonly username: string } => {
  const token = makeToken(botNumber)
  const telegramId = Number(token.split(":")[0])
  const username = `${name.replace(/\W/g, "_")}_bot`
  telegram.registerBot(token, { id: telegramId, username, firstName: name })
  return { token, telegramId, username }
}

/** Like `eventually`, for a check that is itself an effect (e.g. a query). */
export const eventuallyEffect = <A, E, R>(
  check: Effect.Effect<A | undefined | false, E, R>,
  timeoutMs = 20_000
): Effect.Effect<A, E, R> =>
  Effect.gen(function* () {
    const started = Date.now()
    while (Date.now() - started < timeoutMs) {
      const value = yield* check
      if (value !== undefined && value !== false) return value
      yield* Effect.promise(() => new Promise((resolve) => setTimeout(resolve, 25)))
    }
    return yield* Effect.die(new Error(`condition not met within ${timeoutMs} ms`))
  })

/** Waits until every update of the bot is processed and none of its messages is still pending. */
/** How many updates of a bot the inbox holds, whatever their state. */
export const storedUpdates = (server: TestServer["Service"], botId: string) =>
  Effect.map(
    server.sql<{
      count: number
    }>`SELECT count(*)::int AS count FROM telegram_updates WHERE bot_id = ${botId}`,
    (rows) => rows[0]!.count
  ).pipe(Effect.orDie)

export const settled = (server: TestServer["Service"], botId: string) =>
  eventuallyEffect(
    Effect.map(
      server.sql<{ busy: number }>`
        SELECT (SELECT count(*) FROM telegram_updates WHERE bot_id = ${botId} AND status = 'pending')::int
             + (SELECT count(*) FROM messages WHERE bot_id = ${botId} AND status = 'pending')::int
               AS busy`,
      (rows) => rows[0]!.busy === 0
    ).pipe(Effect.orDie)
  )
