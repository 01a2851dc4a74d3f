/** Stored LLM providers, and checking one before it is stored. */
import type {
  InvalidProviderKey,
  Provider,
  ProviderId,
  ProviderInUse,
  ProviderNameTaken,
  ProviderNotFound,
  ProviderUnreachable
} from "@botfleet/domain"
import { Context, type Effect, type Redacted } from "effect"
import type { UrlNotAllowed } from "./Outbound.ts"

export class ProviderRepository extends Context.Service<
  ProviderRepository,
  {
    readonly insert: (provider: Provider) => Effect.Effect<void, ProviderNameTaken>
    /** Replaces every field of the stored provider with the same id. */
    readonly update: (provider: Provider) => Effect.Effect<void, ProviderNotFound | ProviderNameTaken>
    readonly findById: (id: ProviderId) => Effect.Effect<Provider, ProviderNotFound>
    /** Ordered by name (case-insensitive). */
    readonly list: Effect.Effect<ReadonlyArray<Provider>>
    /** ProviderInUse when a bot still points at it (its `bots` may then be empty: the caller names them). */
    readonly delete: (id: ProviderId) => Effect.Effect<void, ProviderNotFound | ProviderInUse>
  }
>()("@botfleet/application/ProviderRepository") {}

/** UrlNotAllowed: the base URL (or what its name resolves to) is one the outbound guard refuses. */
export type ProviderCheckError = InvalidProviderKey | ProviderUnreachable | UrlNotAllowed

export class ProviderProbe extends Context.Service<
  ProviderProbe,
  {
    /**
     * `GET {baseUrl}/models` with the key: may the URL be reached, does the
     * server answer with a model list, and does it take the key?
     */
    readonly check: (
      baseUrl: string,
      apiKey: Redacted.Redacted<string>
    ) => Effect.Effect<void, ProviderCheckError>
  }
>()("@botfleet/application/ProviderProbe") {}
