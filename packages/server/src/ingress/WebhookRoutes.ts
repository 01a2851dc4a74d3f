/**
 * `POST /telegram/webhook/:botId`: Telegram pushes updates here. The secret
 * token is checked before the body is read; the answer is 200 once the update
 * is durably in the inbox (or was already), and anything else stores nothing.
 * The body is read once by the Telegram adapter (`TelegramGateway.readUpdate`:
 * strings made safe, ids checked, decoded into the domain's `IncomingUpdate`).
 */
import { timingSafeEqual } from "node:crypto"
import {
  acceptUpdate,
  BotRepository,
  SettingsVersion,
  TelegramGateway,
  VersionedCache
} from "@botfleet/application"
import { type Bot, BotId } from "@botfleet/domain"
import { Effect, Option, Schema } from "effect"
import { HttpRouter, HttpServerRequest, HttpServerResponse } from "effect/http"
import { errorResponse } from "../http/errorResponse.ts"
import { readJsonBody } from "../http/readJsonBody.ts"
import { Dispatcher } from "../processing/Dispatcher.ts"

const decodeBotId = Schema.decodeUnknownOption(BotId)

const sameSecret = (given: string | undefined, expected: string): boolean => {
  if (given === undefined) return false
  const a = Buffer.from(given)
  const b = Buffer.from(expected)
  return a.length === b.length && timingSafeEqual(a, b)
}

export const WEBHOOK_BODY_LIMIT = 1024 * 1024

/** Bots whose webhook secret is kept here; the least recently used go first. */
const WEBHOOK_BOT_CACHE_SIZE = 10_000

export const WebhookRoutes = HttpRouter.use(
  Effect.fn(function* (router) {
    const bots = yield* BotRepository
    const dispatcher = yield* Dispatcher
    const settings = yield* SettingsVersion
    const telegram = yield* TelegramGateway

    // A bot's updates come in bursts: its row is reused until the settings version moves (the
    // pipeline sees it with each leased update) instead of read per update. Anything but an active
    // bot with a matching secret is read fresh before it is refused; the insert checks again that
    // the bot is active, so a bot disabled or deleted just now gets nothing stored.
    const recent = VersionedCache.make<BotId, Bot>(WEBHOOK_BOT_CACHE_SIZE)
    const findBot = (botId: BotId, secret: string | undefined) =>
      Effect.gen(function* () {
        const version = yield* settings.current
        const cached = recent.find(botId, version)
        if (cached?.active && sameSecret(secret, cached.webhookSecret)) return Option.some(cached)
        const bot = yield* bots.findById(botId).pipe(Effect.option)
        if (Option.isSome(bot)) recent.set(botId, version, bot.value)
        else recent.invalidate(botId)
        return bot
      })

    const handle = Effect.gen(function* () {
      const request = yield* HttpServerRequest.HttpServerRequest
      const params = yield* HttpRouter.params
      const botId = decodeBotId(params.botId)
      const notFound = () => errorResponse(404, "bot_not_found", "no bot with this id")
      if (Option.isNone(botId)) return notFound()
      const secret = request.headers["x-telegram-bot-api-secret-token"]
      const bot = yield* findBot(botId.value, secret)
      if (Option.isNone(bot)) return notFound()
      if (!sameSecret(secret, bot.value.webhookSecret)) {
        return errorResponse(401, "unauthorized", "missing or wrong X-Telegram-Bot-Api-Secret-Token")
      }
      const body = yield* readJsonBody(request, WEBHOOK_BODY_LIMIT)
      if (!body.ok) return body.response
      // Telegram never sends what fails this; whoever did gets 400 and nothing is stored.
      const received = telegram.readUpdate(body.value)
      if (received.problem !== null) return errorResponse(400, "invalid_update", received.problem)
      // A disabled bot's webhook may still fire until Telegram drops it: acknowledge, keep nothing.
      if (!bot.value.active) return HttpServerResponse.jsonUnsafe({ ok: true, ignored: "bot is disabled" })
      // Stored under this request's span: processing continues the same trace later.
      const outcome = yield* acceptUpdate({
        botId: bot.value.id,
        update: received.update,
        payload: received.payload,
        source: "webhook"
      })
      if (outcome === "accepted") yield* dispatcher.wake
      return HttpServerResponse.jsonUnsafe(
        outcome === "accepted" ? { ok: true } : { ok: true, duplicate: true }
      )
    }).pipe(Effect.withSpan("Webhook.receive"))

    yield* router.add("POST", "/telegram/webhook/:botId", handle)
  })
)
