/**
 * providers: add, edit and remove the OpenAI-compatible servers
 * bots may use. A provider is stored only after its server took the key
 * (`GET /models`); its key is encrypted like bot tokens, never shown, and
 * only ever sent to the base URL it was entered with.
 */
import { randomUUID } from "node:crypto"
import {
  type Bot,
  type ModelPrices,
  Provider,
  ProviderId,
  ProviderInUse,
  ProviderModel,
  type ProviderNameTaken,
  type ProviderNotFound
} from "@botfleet/domain"
import { Clock, Context, Effect, Layer, Redacted, Schema } from "effect"
import { type ProviderCheckError, ProviderProbe, ProviderRepository } from "../ports/Providers.ts"
import { BotRepository } from "../ports/Repositories.ts"
import { SecretBox } from "../ports/SecretBox.ts"

export interface ProviderInput {
  readonly name: string
  readonly baseUrl: string
  readonly apiKey: Redacted.Redacted<string>
  readonly defaultModel?: string | null | undefined
  readonly prices?: ModelPrices | undefined
}

/** Fields to change; absent ones stay. `prices` replaces the whole table. */
export type ProviderPatch = { readonly [K in keyof ProviderInput]?: ProviderInput[K] | undefined }

/** A provider and the bots that answer through it. */
export interface ProviderWithBots {
  readonly provider: Provider
  readonly bots: ReadonlyArray<Pick<Bot, "id" | "name">>
}

/** A new base URL came without its key: the stored one is never sent to another server. */
export class ProviderKeyRequired extends Schema.TaggedError<ProviderKeyRequired>()(
  "ProviderKeyRequired",
  {}
) {
  override get message() {
    return "a new baseUrl needs its apiKey in the same request: a stored key is only sent to the server it was entered for"
  }
}

export class ProviderService extends Context.Service<
  ProviderService,
  {
    readonly create: (
      input: ProviderInput
    ) => Effect.Effect<ProviderWithBots, ProviderCheckError | ProviderNameTaken>
    readonly update: (
      id: ProviderId,
      patch: ProviderPatch
    ) => Effect.Effect<
      ProviderWithBots,
      ProviderNotFound | ProviderKeyRequired | ProviderCheckError | ProviderNameTaken
    >
    /** Refused (ProviderInUse, naming them) while bots use it. */
    readonly remove: (id: ProviderId) => Effect.Effect<void, ProviderNotFound | ProviderInUse>
    readonly get: (id: ProviderId) => Effect.Effect<ProviderWithBots, ProviderNotFound>
    readonly list: Effect.Effect<ReadonlyArray<ProviderWithBots>>
    /** Each provider's default model, for showing what a bot really asks for. */
    readonly defaultModels: Effect.Effect<ReadonlyMap<string, string | null>>
  }
>()("@botfleet/application/ProviderService") {
  static readonly layer = Layer.effect(
    ProviderService,
    Effect.gen(function* () {
      const providers = yield* ProviderRepository
      const bots = yield* BotRepository
      const probe = yield* ProviderProbe
      const secrets = yield* SecretBox

      const now = Effect.map(Clock.currentTimeMillis, (millis) => new Date(millis))

      const usersOf = (all: ReadonlyArray<Bot>, id: ProviderId) =>
        all.filter((bot) => bot.providerId === id).map((bot) => ({ id: bot.id, name: bot.name }))

      const withBots = (provider: Provider) =>
        Effect.map(bots.list, (all): ProviderWithBots => ({ provider, bots: usersOf(all, provider.id) }))

      const create = Effect.fn("ProviderService.create")(function* (input: ProviderInput) {
        const baseUrl = ProviderModel.normalizeBaseUrl(input.baseUrl)
        yield* probe.check(baseUrl, input.apiKey)
        const at = yield* now
        const provider = new Provider({
          id: ProviderId.make(randomUUID()),
          name: input.name.trim(),
          baseUrl,
          apiKeyCiphertext: yield* secrets.encrypt(input.apiKey),
          apiKeyHint: ProviderModel.apiKeyHint(Redacted.value(input.apiKey)),
          defaultModel: input.defaultModel ?? null,
          prices: input.prices ?? {},
          createdAt: at,
          updatedAt: at
        })
        yield* providers.insert(provider)
        yield* Effect.logInfo("provider added", { provider_id: provider.id, base_url: provider.baseUrl })
        return { provider, bots: [] }
      })

      const update = Effect.fn("ProviderService.update")(function* (id: ProviderId, patch: ProviderPatch) {
        const current = yield* providers.findById(id)
        const baseUrl =
          patch.baseUrl === undefined ? current.baseUrl : ProviderModel.normalizeBaseUrl(patch.baseUrl)
        let next = new Provider({
          ...current,
          name: patch.name?.trim() ?? current.name,
          baseUrl,
          defaultModel: patch.defaultModel === undefined ? current.defaultModel : patch.defaultModel,
          prices: patch.prices ?? current.prices,
          updatedAt: yield* now
        })
        // The stored key goes only to the server it was entered for: a new server needs its key.
        const moved = baseUrl !== current.baseUrl
        if (moved && patch.apiKey === undefined) return yield* new ProviderKeyRequired()
        // A new server or a new key is checked before anything is stored.
        if (patch.apiKey !== undefined) {
          yield* probe.check(baseUrl, patch.apiKey)
          next = new Provider({
            ...next,
            apiKeyCiphertext: yield* secrets.encrypt(patch.apiKey),
            apiKeyHint: ProviderModel.apiKeyHint(Redacted.value(patch.apiKey))
          })
        }
        yield* providers.update(next)
        yield* Effect.logInfo("provider updated", { provider_id: id })
        return yield* withBots(next)
      })

      const remove = Effect.fn("ProviderService.remove")(function* (id: ProviderId) {
        yield* providers.findById(id)
        const inUse = (all: ReadonlyArray<Bot>) => usersOf(all, id).map((bot) => bot.name)
        const users = inUse(yield* bots.list)
        if (users.length > 0) return yield* new ProviderInUse({ providerId: id, bots: users })
        // A bot given the provider meanwhile: the foreign key refuses; name it too.
        yield* providers
          .delete(id)
          .pipe(
            Effect.catchTag("ProviderInUse", () =>
              Effect.flatMap(bots.list, (all) =>
                Effect.fail(new ProviderInUse({ providerId: id, bots: inUse(all) }))
              )
            )
          )
        yield* Effect.logInfo("provider deleted", { provider_id: id })
      })

      const get = Effect.fn("ProviderService.get")(function* (id: ProviderId) {
        return yield* withBots(yield* providers.findById(id))
      })

      const list = Effect.gen(function* () {
        const [all, allBots] = yield* Effect.all([providers.list, bots.list])
        return all.map((provider): ProviderWithBots => ({ provider, bots: usersOf(allBots, provider.id) }))
      }).pipe(Effect.withSpan("ProviderService.list"))

      const defaultModels = Effect.map(
        providers.list,
        (all): ReadonlyMap<string, string | null> => new Map(all.map((p) => [p.id, p.defaultModel]))
      )

      return ProviderService.of({ create, update, remove, get, list, defaultModels })
    })
  )
}
