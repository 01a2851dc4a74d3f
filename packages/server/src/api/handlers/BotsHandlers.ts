/** Bots: a thin layer over BotService; responses never carry the token. */
import { BotService, KnowledgeService, ProviderService, Settings } from "@botfleet/application"
import { type Bot, BotId } from "@botfleet/domain"
import { Effect, Option, Redacted } from "effect"
import { HttpApiBuilder } from "effect/http-api"
import { Api } from "../Api.ts"
import { answerErrors, error, Unprocessable } from "../ApiErrors.ts"
import { createdAt } from "../responseHeaders.ts"
import { toBotView } from "../views.ts"

/** On a bot's route, an unknown provider is a field the client got wrong, not a missing route. */
const unknownProvider = (e: { readonly message: string }) =>
  Effect.fail(new Unprocessable(error("unknown_provider", `providerId: ${e.message}`)))
const unknownMcpServer = (e: { readonly message: string }) =>
  Effect.fail(new Unprocessable(error("unknown_mcp_server", `mcpServerIds: ${e.message}`)))

/** The knowledge bases a body names: the bot's own and its personas'. */
const knowledgeBasesIn = (payload: {
  readonly knowledgeBaseIds?: ReadonlyArray<string> | undefined
  readonly personas?:
    | ReadonlyArray<{ readonly knowledgeBaseIds?: ReadonlyArray<string> | null | undefined }>
    | undefined
}): ReadonlyArray<string> | undefined => {
  const own = payload.knowledgeBaseIds
  const personas = (payload.personas ?? []).flatMap((persona) => persona.knowledgeBaseIds ?? [])
  return own === undefined && personas.length === 0 ? undefined : [...(own ?? []), ...personas]
}

export const BotsHandlers = HttpApiBuilder.group(
  Api,
  "bots",
  Effect.fn(function* (handlers) {
    const bots = yield* BotService
    const settings = yield* Settings
    const providers = yield* ProviderService
    const knowledge = yield* KnowledgeService
    /** Every id names a knowledge base, or the request is refused with nothing changed. */
    const checkKnowledgeBases = (ids: ReadonlyArray<string> | undefined) =>
      ids === undefined
        ? Effect.void
        : knowledge
            .checkIds(ids)
            .pipe(
              Effect.catchTag("UnknownKnowledgeBases", (e) =>
                Effect.fail(new Unprocessable(error("unknown_knowledge_base", e.message)))
              )
            )
    // effectiveModel needs each provider's default model.
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

    return handlers
      .handle("list", () => Effect.flatMap(bots.list, views))
      .handle("create", ({ payload }) =>
        checkKnowledgeBases(knowledgeBasesIn(payload)).pipe(
          Effect.andThen(bots.register({ ...payload, token: Redacted.make(payload.token) })),
          Effect.tap((bot) => createdAt(`/api/bots/${bot.id}`)),
          Effect.flatMap(view),
          Effect.catchTag("ProviderNotFound", unknownProvider),
          Effect.catchTag("McpServerNotFound", unknownMcpServer),
          answerErrors
        )
      )
      .handle("get", ({ params }) =>
        bots.get(BotId.make(params.id)).pipe(
          Effect.flatMap((bot) =>
            Effect.zipWith(view(bot), webhookOf(bot), (shown, webhook) => ({ ...shown, webhook }))
          ),
          answerErrors
        )
      )
      .handle("update", ({ params, payload }) =>
        checkKnowledgeBases(knowledgeBasesIn(payload)).pipe(
          Effect.andThen(
            bots.update(BotId.make(params.id), {
              ...payload,
              token: payload.token === undefined ? undefined : Redacted.make(payload.token)
            })
          ),
          Effect.flatMap(view),
          Effect.catchTag("ProviderNotFound", unknownProvider),
          Effect.catchTag("McpServerNotFound", unknownMcpServer),
          answerErrors
        )
      )
      .handle("remove", ({ params }) => bots.remove(BotId.make(params.id)).pipe(answerErrors))
      .handle("enable", ({ params }) =>
        bots.enable(BotId.make(params.id)).pipe(Effect.flatMap(view), answerErrors)
      )
      .handle("disable", ({ params }) =>
        bots.disable(BotId.make(params.id)).pipe(Effect.flatMap(view), answerErrors)
      )
  })
)
