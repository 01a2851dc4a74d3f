/**
 * The ProviderRepository contract, run on PostgreSQL and on the
 * in-memory twin: unique names whatever their case, order by name, and no
 * delete while a bot points at the provider.
 */

import { BotRepository, ProviderRepository } from "@botfleet/application"
import { Bot, Provider, ProviderId } from "@botfleet/domain"
import { serverUrl, TestDatabase } from "@botfleet/testing"
import { assert, layer } from "@effect/vitest"
import { Effect, Exit, Layer } from "effect"
import * as Database from "../../src/postgres/Database.ts"
import * as RepositoriesMemory from "../../src/repositories/RepositoriesMemory.ts"
import * as RepositoriesPg from "../../src/repositories/RepositoriesPg.ts"
import { storedBot } from "../repositories/fixtures.ts"

const at = new Date(Date.UTC(2026, 0, 1))

const makeProvider = (name: string, fields: Partial<ConstructorParameters<typeof Provider>[0]> = {}) =>
  new Provider({
    id: ProviderId.make(crypto.randomUUID()),
    name,
    baseUrl: "http://127.0.0.1:11434/v1",
    apiKeyCiphertext: "v1:ciphertext",
    apiKeyHint: "…abcd",
    defaultModel: "llama3.1",
    prices: { "llama3.1": { input: 0.1, output: 0.2 } },
    createdAt: at,
    updatedAt: at,
    ...fields
  })

const makeBot = (providerId: ProviderId | null) =>
  storedBot({
    createdAt: at,
    updatedAt: at,
    providerId,
    fallbackModel: "llama3.2",
    temperature: 0.7,
    maxOutputTokens: 512
  })

const contract = (name: string, repositories: Layer.Layer<ProviderRepository | BotRepository>) =>
  layer(repositories)(`ProviderRepository on ${name}`, (it) => {
    const unique = () => `p-${crypto.randomUUID().slice(0, 8)}`

    it.effect("a provider is stored, found, updated, listed by name and deleted", () =>
      Effect.gen(function* () {
        const providers = yield* ProviderRepository
        const suffix = unique()
        const b = makeProvider(`b-${suffix}`)
        const a = makeProvider(`A-${suffix}`)
        yield* providers.insert(b)
        yield* providers.insert(a)
        assert.deepStrictEqual(yield* providers.findById(b.id), b)
        const mine = (yield* providers.list).filter((provider) => provider.name.endsWith(suffix))
        assert.deepStrictEqual(
          mine.map((provider) => provider.name),
          [`A-${suffix}`, `b-${suffix}`]
        )
        const edited = new Provider({
          ...b,
          defaultModel: null,
          prices: {},
          updatedAt: new Date(at.getTime() + 1000)
        })
        yield* providers.update(edited)
        assert.deepStrictEqual(yield* providers.findById(b.id), edited)
        yield* providers.delete(b.id)
        assert.strictEqual((yield* Effect.flip(providers.findById(b.id)))._tag, "ProviderNotFound")
        assert.strictEqual((yield* Effect.flip(providers.delete(b.id)))._tag, "ProviderNotFound")
        assert.strictEqual((yield* Effect.flip(providers.update(edited)))._tag, "ProviderNotFound")
      })
    )

    it.effect("names are unique whatever their case, on insert and on update", () =>
      Effect.gen(function* () {
        const providers = yield* ProviderRepository
        const name = unique()
        yield* providers.insert(makeProvider(name))
        assert.strictEqual(
          (yield* Effect.flip(providers.insert(makeProvider(name.toUpperCase()))))._tag,
          "ProviderNameTaken"
        )
        const other = makeProvider(unique())
        yield* providers.insert(other)
        const renamed = new Provider({ ...other, name: name.toUpperCase() })
        assert.strictEqual((yield* Effect.flip(providers.update(renamed)))._tag, "ProviderNameTaken")
      })
    )

    it.effect("a provider a bot uses cannot be deleted; the bot keeps its model settings", () =>
      Effect.gen(function* () {
        const providers = yield* ProviderRepository
        const bots = yield* BotRepository
        const provider = makeProvider(unique())
        yield* providers.insert(provider)
        const bot = makeBot(provider.id)
        yield* bots.insert(bot)
        assert.deepStrictEqual(yield* bots.findById(bot.id), bot)
        assert.strictEqual((yield* Effect.flip(providers.delete(provider.id)))._tag, "ProviderInUse")
        assert.deepStrictEqual(yield* providers.findById(provider.id), provider)
        yield* bots.update(new Bot({ ...bot, providerId: null }))
        yield* providers.delete(provider.id)
      })
    )

    it.effect(
      "a bot cannot point at a provider that does not exist (a defect, as a broken foreign key)",
      () =>
        Effect.gen(function* () {
          const bots = yield* BotRepository
          const orphan = makeBot(ProviderId.make(crypto.randomUUID()))
          const exit = yield* Effect.exit(bots.insert(orphan))
          assert.isTrue(Exit.hasDies(exit))
          assert.strictEqual((yield* Effect.flip(bots.findById(orphan.id)))._tag, "BotNotFound")
        })
    )
  })

contract(
  "postgres",
  RepositoriesPg.layer.pipe(Layer.provide(TestDatabase.layer(serverUrl(), Database.layerAt)))
)
contract("memory", RepositoriesMemory.layer)
