/**
 * What a bot's model request needs (which server, key, model, fallback,
 * temperature, token limit), on the hot path. A provider and its decrypted key
 * are reused until the settings version moves, as BotAccess reuses bots, so a
 * reply costs no extra database round trip and an edit shows with the next
 * update. Bots without a provider use the env default and touch nothing here.
 */
import type { Bot, ProviderId } from "@botfleet/domain"
import { Context, Effect, Layer } from "effect"
import { spanFn } from "../observability/spanFn.ts"
import { type CompletionRequest, LlmError, type ModelEndpoint } from "../ports/LanguageModel.ts"
import { ProviderRepository } from "../ports/Providers.ts"
import { SecretBox } from "../ports/SecretBox.ts"
import { Settings } from "../ports/Settings.ts"
import { SettingsVersion } from "../settings/SettingsVersion.ts"
import * as VersionedCache from "../settings/VersionedCache.ts"

/** Providers kept with their decrypted key, per process; the least recently used go first. */
export const PROVIDER_CACHE_SIZE = 1_000

/** A request's settings, without its messages. */
export type ModelChoice = Omit<CompletionRequest, "messages">

interface Loaded {
  readonly endpoint: ModelEndpoint
  readonly defaultModel: string | null
}

export class ProviderAccess extends Context.Service<
  ProviderAccess,
  {
    /**
     * The bot's model settings. A provider that is gone or whose key cannot be
     * decrypted is an LlmError that will not pass by retrying (kind `auth`).
     */
    readonly modelFor: (bot: Bot) => Effect.Effect<ModelChoice, LlmError>
  }
>()("@botfleet/application/ProviderAccess") {
  static readonly layer = Layer.effect(
    ProviderAccess,
    Effect.gen(function* () {
      const fn = yield* spanFn
      const providers = yield* ProviderRepository
      const secrets = yield* SecretBox
      const settings = yield* Settings
      const version = yield* SettingsVersion
      const cache = VersionedCache.make<ProviderId, Loaded>(PROVIDER_CACHE_SIZE)

      const unusable = (bot: Bot, reason: string) =>
        new LlmError({
          kind: "auth",
          model: bot.model ?? settings.defaultModel,
          description: `provider ${bot.providerId}: ${reason}`,
          retryAfterSeconds: null
        })

      const read = fn("ProviderAccess.read")(function* (bot: Bot, id: ProviderId) {
        const provider = yield* providers.findById(id).pipe(Effect.mapError(() => unusable(bot, "not found")))
        const apiKey = yield* secrets
          .decrypt(provider.apiKeyCiphertext)
          .pipe(Effect.mapError((error) => unusable(bot, error.message)))
        return {
          endpoint: {
            providerId: provider.id,
            version: provider.updatedAt.getTime(),
            baseUrl: provider.baseUrl,
            apiKey,
            prices: provider.prices
          },
          defaultModel: provider.defaultModel
        }
      })

      // The version is taken before the read: what is read is at least that new.
      const load = (bot: Bot, id: ProviderId) =>
        Effect.flatMap(version.current, (current) => cache.getEffect(id, current, read(bot, id)))

      const modelFor = (bot: Bot): Effect.Effect<ModelChoice, LlmError> => {
        const tuning = { temperature: bot.temperature, maxOutputTokens: bot.maxOutputTokens }
        if (bot.providerId === null) {
          // null fallbackModel: the adapter's own (OPENAI_FALLBACK_MODEL).
          return Effect.succeed({
            model: bot.model ?? settings.defaultModel,
            ...(bot.fallbackModel === null ? {} : { fallbackModel: bot.fallbackModel }),
            ...tuning
          })
        }
        return Effect.map(load(bot, bot.providerId), ({ endpoint, defaultModel }) => ({
          endpoint,
          model: bot.model ?? defaultModel ?? settings.defaultModel,
          // The env fallback names a model of the env server, not of this one.
          fallbackModel: bot.fallbackModel,
          ...tuning
        }))
      }

      return ProviderAccess.of({ modelFor })
    })
  )
}
