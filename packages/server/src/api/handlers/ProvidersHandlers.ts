/** A thin layer over ProviderService; responses carry the key's hint, never the key. */
import { ProviderService } from "@botfleet/application"
import { ProviderId } from "@botfleet/domain"
import { Effect, Redacted } from "effect"
import { HttpApiBuilder } from "effect/http-api"
import { Api } from "../Api.ts"
import { answerErrors, urlRefusedIn } from "../ApiErrors.ts"
import { createdAt } from "../responseHeaders.ts"
import { toProviderView } from "../views.ts"

/** On a provider's route the guard's refusal is about its base URL. */
const baseUrlRefused = urlRefusedIn("baseUrl")

export const ProvidersHandlers = HttpApiBuilder.group(
  Api,
  "providers",
  Effect.fn(function* (handlers) {
    const providers = yield* ProviderService

    return handlers
      .handle("list", () => Effect.map(providers.list, (all) => all.map(toProviderView)))
      .handle("create", ({ payload }) =>
        providers.create({ ...payload, apiKey: Redacted.make(payload.apiKey) }).pipe(
          Effect.tap(({ provider }) => createdAt(`/api/providers/${provider.id}`)),
          Effect.map(toProviderView),
          Effect.catchTag("UrlNotAllowed", baseUrlRefused),
          answerErrors
        )
      )
      .handle("get", ({ params }) =>
        providers.get(ProviderId.make(params.id)).pipe(Effect.map(toProviderView), answerErrors)
      )
      .handle("update", ({ params, payload }) =>
        providers
          .update(ProviderId.make(params.id), {
            ...payload,
            apiKey: payload.apiKey === undefined ? undefined : Redacted.make(payload.apiKey)
          })
          .pipe(Effect.map(toProviderView), Effect.catchTag("UrlNotAllowed", baseUrlRefused), answerErrors)
      )
      .handle("remove", ({ params }) => providers.remove(ProviderId.make(params.id)).pipe(answerErrors))
  })
)
