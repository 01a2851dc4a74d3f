/**
 * providers on the in-memory twins: ProviderService checks before
 * it stores and keeps the key encrypted; the pipeline sends a provider bot's
 * requests with its endpoint, key, model and tuning, and other bots' to the
 * env default.
 */
import { LanguageModelMemory, ProviderProbeMemory } from "@botfleet/adapters"
import { BotService, ProviderService, SecretBox } from "@botfleet/application"
import { InvalidProviderKey, ProviderId, ProviderUnreachable } from "@botfleet/domain"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Layer, Redacted } from "effect"
import { TestClock } from "effect/testing"
import { addBot, deliver, harness, messagesOf, textUpdate } from "../harness.ts"

const KEY = "sk-local-abcdefghijklmnop"
const input = {
  name: "Local",
  baseUrl: "http://127.0.0.1:11434/v1/",
  apiKey: Redacted.make(KEY),
  defaultModel: "llama-local"
}

const withProviders = () =>
  ProviderService.layer.pipe(
    Layer.provideMerge(ProviderProbeMemory.layerMemory),
    Layer.provideMerge(harness())
  )

const { ProviderProbeMemoryControl } = ProviderProbeMemory

describe("ProviderService", () => {
  it.effect("checks the server before storing; a refused or unreachable one stores nothing", () =>
    Effect.gen(function* () {
      const service = yield* ProviderService
      const probe = yield* ProviderProbeMemoryControl
      yield* probe.failNext(
        new InvalidProviderKey({ reason: "401" }),
        new ProviderUnreachable({ reason: "ECONNREFUSED" })
      )
      assert.strictEqual((yield* Effect.flip(service.create(input)))._tag, "InvalidProviderKey")
      assert.strictEqual((yield* Effect.flip(service.create(input)))._tag, "ProviderUnreachable")
      assert.deepStrictEqual(yield* service.list, [])

      const { provider } = yield* service.create(input)
      assert.strictEqual(provider.baseUrl, "http://127.0.0.1:11434/v1")
      assert.strictEqual(provider.apiKeyHint, "…mnop")
      assert.notInclude(provider.apiKeyCiphertext, KEY)
      assert.strictEqual(
        Redacted.value(yield* SecretBox.use((box) => box.decrypt(provider.apiKeyCiphertext))),
        KEY
      )
      assert.deepStrictEqual(yield* probe.calls, [
        { baseUrl: "http://127.0.0.1:11434/v1", apiKey: KEY },
        { baseUrl: "http://127.0.0.1:11434/v1", apiKey: KEY },
        { baseUrl: "http://127.0.0.1:11434/v1", apiKey: KEY }
      ])
    }).pipe(Effect.provide(withProviders()))
  )

  // Changed: a new base URL used to be checked with the stored key, which sent that key to
  // whatever server the edit named. Now the new server needs its key in the same edit.
  it.effect("a new base URL needs its key and is checked with it; the stored key goes nowhere new", () =>
    Effect.gen(function* () {
      const service = yield* ProviderService
      const probe = yield* ProviderProbeMemoryControl
      const { provider } = yield* service.create(input)
      yield* service.update(provider.id, { defaultModel: null, name: "Renamed" })
      // The same base URL, spelled with its slash: not a move.
      yield* service.update(provider.id, { baseUrl: "http://127.0.0.1:11434/v1/" })
      assert.strictEqual((yield* probe.calls).length, 1)

      const before = (yield* service.get(provider.id)).provider
      const keyless = yield* Effect.flip(service.update(provider.id, { baseUrl: "http://10.0.0.9/v1" }))
      assert.strictEqual(keyless._tag, "ProviderKeyRequired")
      assert.strictEqual((yield* probe.calls).length, 1, "the new server was not asked")
      assert.deepStrictEqual((yield* service.get(provider.id)).provider, before)

      const NEW_KEY = "sk-other-qrstuvwxyz012345"
      yield* probe.failNext(new ProviderUnreachable({ reason: "timeout" }))
      const moved = yield* Effect.flip(
        service.update(provider.id, { baseUrl: "http://10.0.0.9/v1", apiKey: Redacted.make(NEW_KEY) })
      )
      assert.strictEqual(moved._tag, "ProviderUnreachable")
      assert.deepStrictEqual((yield* service.get(provider.id)).provider, before)
      const edited = yield* service.update(provider.id, {
        baseUrl: "http://10.0.0.9/v1",
        apiKey: Redacted.make(NEW_KEY)
      })
      assert.strictEqual(edited.provider.baseUrl, "http://10.0.0.9/v1")
      assert.strictEqual(edited.provider.apiKeyHint, "…2345")
      assert.deepStrictEqual(
        (yield* probe.calls).map((call) => call.apiKey),
        [KEY, NEW_KEY, NEW_KEY],
        "the stored key went only to its own server"
      )
      const unknown = ProviderId.make("6f1c7a38-6b1e-4c55-9a53-3f4d2b6f0a11")
      assert.strictEqual(
        (yield* Effect.flip(service.update(unknown, { name: "x" })))._tag,
        "ProviderNotFound"
      )
    }).pipe(Effect.provide(withProviders()))
  )

  it.effect("a provider in use is not deleted, and the refusal names its bots", () =>
    Effect.gen(function* () {
      const service = yield* ProviderService
      const { provider } = yield* service.create(input)
      const { bot } = yield* addBot({ username: "local_bot", providerId: provider.id })
      const refused = yield* Effect.flip(service.remove(provider.id))
      assert.strictEqual(refused._tag, "ProviderInUse")
      assert.include(refused.message, "local_bot")
      yield* (yield* BotService).update(bot.id, { providerId: null })
      yield* service.remove(provider.id)
      assert.deepStrictEqual(yield* service.list, [])
    }).pipe(Effect.provide(withProviders()))
  )

  it.effect("a bot cannot point at a provider that does not exist", () =>
    Effect.gen(function* () {
      const unknown = ProviderId.make("6f1c7a38-6b1e-4c55-9a53-3f4d2b6f0a11")
      const error = yield* Effect.flip(addBot({ providerId: unknown }))
      assert.strictEqual(error._tag, "ProviderNotFound")
      assert.deepStrictEqual(yield* (yield* BotService).list, [])
    }).pipe(Effect.provide(withProviders()))
  )
})

describe("the pipeline with providers", () => {
  it.effect(
    "a provider bot's request carries its endpoint, key, model and tuning; a default bot's does not",
    () =>
      Effect.gen(function* () {
        const service = yield* ProviderService
        const llm = yield* LanguageModelMemory.LanguageModelMemoryControl
        const { provider } = yield* service.create({
          ...input,
          prices: { "llama-local": { input: 1, output: 2 } }
        })
        const local = yield* addBot({
          telegramId: 700_101,
          username: "local_bot",
          providerId: provider.id,
          temperature: 0.5,
          maxOutputTokens: 64,
          streaming: false
        })
        const plain = yield* addBot({ telegramId: 700_102, username: "plain_bot", streaming: false })
        yield* deliver(local.bot, textUpdate(1, "hi local"))
        yield* deliver(plain.bot, textUpdate(2, "hi plain"))

        const [toLocal, toDefault] = yield* llm.requests
        assert.strictEqual(toLocal!.model, "llama-local")
        assert.strictEqual(toLocal!.endpoint?.providerId, provider.id)
        assert.strictEqual(toLocal!.endpoint?.baseUrl, "http://127.0.0.1:11434/v1")
        assert.strictEqual(Redacted.value(toLocal!.endpoint!.apiKey), KEY)
        assert.strictEqual(toLocal!.temperature, 0.5)
        assert.strictEqual(toLocal!.maxOutputTokens, 64)
        assert.strictEqual(toLocal!.fallbackModel, null, "no env fallback on a provider")
        assert.strictEqual(toDefault!.model, "test-model")
        assert.isUndefined(toDefault!.endpoint)
        assert.isUndefined(toDefault!.fallbackModel, "the env fallback applies")
        // Priced with the provider's table.
        const reply = (yield* messagesOf(local.bot)).at(-1)!
        assert.strictEqual(reply.costUsd, (reply.inputTokens * 1 + reply.outputTokens * 2) / 1_000_000)
        assert.isAbove(reply.costUsd, 0)

        // An edit shows once the one-second cache has passed.
        yield* service.update(provider.id, { defaultModel: "llama-bigger" })
        yield* TestClock.adjust("2 seconds")
        yield* deliver(local.bot, textUpdate(3, "again"))
        assert.strictEqual((yield* llm.requests).at(-1)!.model, "llama-bigger")
      }).pipe(Effect.provide(withProviders()))
  )
})
