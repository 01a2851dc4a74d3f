/** Bots: a thin layer over BotService; responses never carry the token. */
import { BotService, KnowledgeService, ProviderService, Settings } from "@botfleet/application"
import { type Bot, BotId, KnowledgeBaseId, ProviderId } from "@botfleet/domain"
import { Effect, Option, Redacted } from "effect"
import { HttpApiBuilder } from "effect/http-api"
import { Api } from "../Api.ts"
import { Conflict, error, NotFound, ServiceUnavailable, Unprocessable } from "../ApiErrors.ts"
import { addResponseHeaders, createdAt } from "../responseHeaders.ts"
import { toBotView } from "../views.ts"

/** The payload's providerId as the domain's id (null and absent kept). */
const providerOf = (payload: { readonly providerId?: string | null | undefined }) => ({
  providerId:
    payload.providerId === undefined || payload.providerId === null
      ? payload.providerId
      : ProviderId.make(payload.providerId)
})

const notFound = (e: { message: string }) => Effect.fail(new NotFound(error("bot_not_found", e.message)))

export const BotsHandlers = HttpApiBuilder.group(
  Api,
  "bots",
  Effect.fn(function* (handlers) {
    const bots = yield* BotService
    const settings = yield* Settings
    const providers = yield* ProviderService
    const knowledge = yield* KnowledgeService
    /** Every id names a knowledge base, or the request is refused with nothing changed. */
    const knowledgeOf = (payload: {
      readonly knowledgeBaseIds?: ReadonlyArray<string> | undefined
    }): Effect.Effect<
      { readonly knowledgeBaseIds: ReadonlyArray<KnowledgeBaseId> | undefined },
      Unprocessable
    > =>
      payload.knowledgeBaseIds === undefined
        ? Effect.succeed({ knowledgeBaseIds: undefined })
        : knowledge.checkIds(payload.knowledgeBaseIds).pipe(
            Effect.as({
              knowledgeBaseIds: [...new Set(payload.knowledgeBaseIds)].map((id) => KnowledgeBaseId.make(id))
            }),
            Effect.catchTag("UnknownKnowledgeBases", (e) =>
              Effect.fail(new Unprocessable(error("unknown_knowledge_base", e.message)))
            )
          )
    // providers (issue 12): effectiveModel needs each provider's default model.
    const views = (all: ReadonlyArray<Bot>) =>
      Effect.map(providers.defaultModels, (models) => all.map((bot) => toBotView(bot, settings, models)))
    const view = (bot: Bot) => Effect.map(views([bot]), (one) => one[0] ?? toBotView(bot, settings))

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
      ProviderNotFound: (e: { message: string }) =>
        Effect.fail(new Unprocessable(error("unknown_provider", `providerId: ${e.message}`))),
      TelegramUnavailable: (e: { message: string; retryAfterSeconds: number }) =>
        addResponseHeaders({ "retry-after": String(e.retryAfterSeconds) }).pipe(
          Effect.andThen(Effect.fail(new ServiceUnavailable(error("telegram_unavailable", e.message))))
        )
    }

    return handlers
      .handle("list", () => Effect.flatMap(bots.list, views))
      .handle("create", ({ payload }) =>
        Effect.flatMap(knowledgeOf(payload), (knowledgeBases) =>
          bots.register({
            ...payload,
            ...providerOf(payload),
            ...knowledgeBases,
            token: Redacted.make(payload.token)
          })
        ).pipe(
          Effect.tap((bot) => createdAt(`/api/bots/${bot.id}`)),
          Effect.flatMap(view),
          Effect.catchTags(invalid)
        )
      )
      .handle("get", ({ params }) =>
        bots.get(BotId.make(params.id)).pipe(
          Effect.flatMap((bot) =>
            Effect.zipWith(view(bot), webhookOf(bot), (shown, webhook) => ({ ...shown, webhook }))
          ),
          Effect.catchTag("BotNotFound", notFound)
        )
      )
      .handle("update", ({ params, payload }) =>
        Effect.flatMap(knowledgeOf(payload), (knowledgeBases) =>
          bots.update(BotId.make(params.id), {
            ...payload,
            ...providerOf(payload),
            ...knowledgeBases,
            token: payload.token === undefined ? undefined : Redacted.make(payload.token)
          })
        ).pipe(Effect.flatMap(view), Effect.catchTags({ ...invalid, BotNotFound: notFound }))
      )
      .handle("remove", ({ params }) =>
        bots.remove(BotId.make(params.id)).pipe(Effect.catchTag("BotNotFound", notFound))
      )
      .handle("enable", ({ params }) =>
        bots
          .enable(BotId.make(params.id))
          .pipe(Effect.flatMap(view), Effect.catchTag("BotNotFound", notFound))
      )
      .handle("disable", ({ params }) =>
        bots
          .disable(BotId.make(params.id))
          .pipe(Effect.flatMap(view), Effect.catchTag("BotNotFound", notFound))
      )
  })
)
