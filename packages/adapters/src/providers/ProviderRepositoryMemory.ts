/** The in-memory twin of ProviderRepositoryPg: unique names, order, and the bots' foreign key. */
import { ProviderRepository } from "@botfleet/application"
import {
  type Provider,
  type ProviderId,
  ProviderInUse,
  ProviderNameTaken,
  ProviderNotFound
} from "@botfleet/domain"
import { Effect, Layer, Ref } from "effect"
import {
  compareIds,
  MemoryStore,
  layer as memoryStoreLayer,
  type Tables,
  withEntry
} from "../memory/MemoryStore.ts"

const nameTaken = (tables: Tables, provider: Provider): boolean =>
  [...tables.providers.values()].some(
    (other) => other.id !== provider.id && other.name.toLowerCase() === provider.name.toLowerCase()
  )

const byName = (a: Provider, b: Provider): number => {
  const x = a.name.toLowerCase()
  const y = b.name.toLowerCase()
  return x < y ? -1 : x > y ? 1 : compareIds(a.id, b.id)
}

/** Needs the MemoryStore shared with the other repositories (the bots' foreign key lives there). */
export const layerNoDeps: Layer.Layer<ProviderRepository, never, MemoryStore> = Layer.effect(
  ProviderRepository,
  Effect.gen(function* () {
    const store = yield* MemoryStore

    const insert = Effect.fn("ProviderRepository.insert")(function* (provider: Provider) {
      return yield* yield* Ref.modify(store, (tables): [Effect.Effect<void, ProviderNameTaken>, Tables] => {
        if (tables.providers.has(provider.id)) {
          return [Effect.die(new Error(`duplicate provider id ${provider.id}`)), tables]
        }
        if (nameTaken(tables, provider))
          return [Effect.fail(new ProviderNameTaken({ name: provider.name })), tables]
        return [Effect.void, { ...tables, providers: withEntry(tables.providers, provider.id, provider) }]
      })
    })

    const update = Effect.fn("ProviderRepository.update")(function* (provider: Provider) {
      return yield* yield* Ref.modify(
        store,
        (tables): [Effect.Effect<void, ProviderNotFound | ProviderNameTaken>, Tables] => {
          if (!tables.providers.has(provider.id)) {
            return [Effect.fail(new ProviderNotFound({ providerId: provider.id })), tables]
          }
          if (nameTaken(tables, provider)) {
            return [Effect.fail(new ProviderNameTaken({ name: provider.name })), tables]
          }
          return [Effect.void, { ...tables, providers: withEntry(tables.providers, provider.id, provider) }]
        }
      )
    })

    const findById = Effect.fn("ProviderRepository.findById")(function* (id: ProviderId) {
      const provider = (yield* Ref.get(store)).providers.get(id)
      if (provider === undefined) return yield* new ProviderNotFound({ providerId: id })
      return provider
    })

    const list = Ref.get(store).pipe(
      Effect.map((tables): ReadonlyArray<Provider> => [...tables.providers.values()].sort(byName)),
      Effect.withSpan("ProviderRepository.list")
    )

    // No cascade, as in Postgres: a provider a bot points at stays.
    const remove = Effect.fn("ProviderRepository.delete")(function* (id: ProviderId) {
      return yield* yield* Ref.modify(
        store,
        (tables): [Effect.Effect<void, ProviderNotFound | ProviderInUse>, Tables] => {
          if (!tables.providers.has(id))
            return [Effect.fail(new ProviderNotFound({ providerId: id })), tables]
          if ([...tables.bots.values()].some((bot) => bot.providerId === id)) {
            return [Effect.fail(new ProviderInUse({ providerId: id, bots: [] })), tables]
          }
          const providers = new Map(tables.providers)
          providers.delete(id)
          return [Effect.void, { ...tables, providers }]
        }
      )
    })

    return ProviderRepository.of({ insert, update, findById, list, delete: remove })
  })
)

/** On its own tables; merged with the other twins it shares theirs (layers are memoised). */
export const layerMemory: Layer.Layer<ProviderRepository> = layerNoDeps.pipe(Layer.provide(memoryStoreLayer))
