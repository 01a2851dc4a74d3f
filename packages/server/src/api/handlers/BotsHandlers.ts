/** Bots: a thin layer over BotService; responses never carry the token. */
import { BotService, Settings } from "@botfleet/application"
import { type Bot, BotId } from "@botfleet/domain"
import { Effect, Option, Redacted } from "effect"
import { HttpApiBuilder } from "effect/http-api"
import { Api } from "../Api.ts"
import { Conflict, error, NotFound, ServiceUnavailable, Unprocessable } from "../ApiErrors.ts"
import { addResponseHeaders, createdAt } from "../responseHeaders.ts"
import { toBotView } from "../views.ts"

const notFound = (e: { message: string }) => Effect.fail(new NotFound(error("bot_not_found", e.message)))

export const BotsHandlers = HttpApiBuilder.group(
  Api,
  "bots",
  Effect.fn(function* (handlers) {
    const bots = yield* BotService
    const settings = yield* Settings
    const view = (bot: Bot) => toBotView(bot, settings)

    /** Telegram's view of the webhook; null when polling, or when Telegram does not answer in time. */
    const webhookOf = (bot: Bot) =>
      bots.webhookInfo(bot).pipe(
        Effect.map(
          Option.match({
            onNone: () => null,
            onSome: (info) => ({
              url: info.url,
              pendingUpdateCount: info.pendingUpdateCount,
              lastErrorMessage: info.lastErrorMessage,
              lastErrorDate: info.lastErrorDate?.toISOString() ?? null
            })
          })
        )
      )

    const invalid = {
      InvalidBotToken: (e: { message: string }) =>
        Effect.fail(new Unprocessable(error("invalid_token", e.message))),
      BotNameTaken: (e: { message: string }) => Effect.fail(new Conflict(error("name_taken", e.message))),
      BotTokenInUse: (e: { message: string }) => Effect.fail(new Conflict(error("token_in_use", e.message))),
      TelegramUnavailable: (e: { message: string; retryAfterSeconds: number }) =>
        addResponseHeaders({ "retry-after": String(e.retryAfterSeconds) }).pipe(
          Effect.andThen(Effect.fail(new ServiceUnavailable(error("telegram_unavailable", e.message))))
        )
    }

    return handlers
      .handle("list", () => Effect.map(bots.list, (all) => all.map(view)))
      .handle("create", ({ payload }) =>
        bots.register({ ...payload, token: Redacted.make(payload.token) }).pipe(
          Effect.tap((bot) => createdAt(`/api/bots/${bot.id}`)),
          Effect.map(view),
          Effect.catchTags(invalid)
        )
      )
      .handle("get", ({ params }) =>
        bots.get(BotId.make(params.id)).pipe(
          Effect.flatMap((bot) => Effect.map(webhookOf(bot), (webhook) => ({ ...view(bot), webhook }))),
          Effect.catchTag("BotNotFound", notFound)
        )
      )
      .handle("update", ({ params, payload }) =>
        bots
          .update(BotId.make(params.id), {
            ...payload,
            token: payload.token === undefined ? undefined : Redacted.make(payload.token)
          })
          .pipe(Effect.map(view), Effect.catchTags({ ...invalid, BotNotFound: notFound }))
      )
      .handle("remove", ({ params }) =>
        bots.remove(BotId.make(params.id)).pipe(Effect.catchTag("BotNotFound", notFound))
      )
      .handle("enable", ({ params }) =>
        bots.enable(BotId.make(params.id)).pipe(Effect.map(view), Effect.catchTag("BotNotFound", notFound))
      )
      .handle("disable", ({ params }) =>
        bots.disable(BotId.make(params.id)).pipe(Effect.map(view), Effect.catchTag("BotNotFound", notFound))
      )
  })
)
