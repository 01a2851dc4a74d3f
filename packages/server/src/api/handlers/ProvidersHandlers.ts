/** providers (issue 12): a thin layer over ProviderService; responses carry the key's hint, never the key. */
import { ProviderService } from "@botfleet/application"
import { ProviderId } from "@botfleet/domain"
import { Effect, Redacted } from "effect"
import { HttpApiBuilder } from "effect/http-api"
import { Api } from "../Api.ts"
import { Conflict, error, NotFound, ServiceUnavailable, Unprocessable } from "../ApiErrors.ts"
import { addResponseHeaders, createdAt } from "../responseHeaders.ts"
import { toProviderView } from "../views.ts"

type Failure = { readonly message: string }

const notFound = (e: Failure) => Effect.fail(new NotFound(error("provider_not_found", e.message)))

/** What creating or editing can run into. */
const invalid = {
  ProviderNameTaken: (e: Failure) => Effect.fail(new Conflict(error("name_taken", e.message))),
  InvalidProviderKey: (e: Failure) => Effect.fail(new Unprocessable(error("invalid_api_key", e.message))),
  ProviderNotCompatible: (e: Failure) => Effect.fail(new Unprocessable(error("invalid_base_url", e.message))),
  UrlNotAllowed: (e: Failure) =>
    Effect.fail(new Unprocessable(error("url_not_allowed", `baseUrl: ${e.message}`))),
  ProviderUnreachable: (e: Failure) =>
    addResponseHeaders({ "retry-after": "30" }).pipe(
      Effect.andThen(Effect.fail(new ServiceUnavailable(error("provider_unreachable", e.message))))
    )
}

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
          Effect.catchTags(invalid)
        )
      )
      .handle("get", ({ params }) =>
        providers
          .get(ProviderId.make(params.id))
          .pipe(Effect.map(toProviderView), Effect.catchTag("ProviderNotFound", notFound))
      )
      .handle("update", ({ params, payload }) =>
        providers
          .update(ProviderId.make(params.id), {
            ...payload,
            apiKey: payload.apiKey === undefined ? undefined : Redacted.make(payload.apiKey)
          })
          .pipe(
            Effect.map(toProviderView),
            Effect.catchTags({
              ...invalid,
              ProviderNotFound: notFound,
              ProviderKeyRequired: (e) => Effect.fail(new Unprocessable(error("api_key_required", e.message)))
            })
          )
      )
      .handle("remove", ({ params }) =>
        providers.remove(ProviderId.make(params.id)).pipe(
          Effect.catchTags({
            ProviderNotFound: notFound,
            ProviderInUse: (e) => Effect.fail(new Conflict(error("provider_in_use", e.message)))
          })
        )
      )
  })
)
