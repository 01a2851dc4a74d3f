/**
 * providers (issue 12) at the adapter edge: one LanguageModelOpenAI serves the
 * env default and any provider endpoint, each with its own key, prices and
 * client (rebuilt when the provider changes); ProviderProbeHttp tells a
 * refused key, an unreachable server and a wrong base URL apart.
 */
import type { ChatTurn, ModelEndpoint } from "@botfleet/application"
import { FakeOpenAI } from "@botfleet/testing"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Redacted } from "effect"
import { make } from "../../src/llm/LanguageModelOpenAI.ts"
import * as ProviderProbeHttp from "../../src/llm/ProviderProbeHttp.ts"
import { defaultPrices } from "../../src/llm/prices.ts"

const ENV_KEY = "sk-env-0000000000000000"
const LOCAL_KEY = "sk-local-1111111111111111"
const messages: ReadonlyArray<ChatTurn> = [{ role: "user", content: "hello there" }]

const endpointOf = (fake: FakeOpenAI.FakeOpenAI, fields: Partial<ModelEndpoint> = {}): ModelEndpoint => ({
  providerId: "provider-1",
  version: 1,
  baseUrl: fake.baseUrl.href,
  apiKey: Redacted.make(LOCAL_KEY),
  prices: { "llama-local": { input: 1000, output: 2000 } },
  ...fields
})

describe("LanguageModelOpenAI with providers", () => {
  it.live(
    "a request with an endpoint goes there with its key, tuning and prices; one without to the env default",
    () =>
      Effect.gen(function* () {
        const envServer = yield* FakeOpenAI.make()
        const local = yield* FakeOpenAI.make({ apiKey: LOCAL_KEY })
        const llm = make({
          apiKey: Redacted.make(ENV_KEY),
          baseUrl: envServer.baseUrl,
          fallbackModel: undefined,
          prices: defaultPrices,
          maxRetries: 0
        })
        const answer = yield* llm.complete({
          model: "llama-local",
          messages,
          endpoint: endpointOf(local),
          temperature: 0.4,
          maxOutputTokens: 99
        })
        assert.strictEqual(answer.model, "llama-local")
        assert.strictEqual(
          answer.costUsd,
          (answer.inputTokens * 1000 + answer.outputTokens * 2000) / 1_000_000
        )
        yield* llm.complete({ model: "gpt-4o-mini", messages })

        const [localRequest] = yield* local.requests
        assert.strictEqual(localRequest!.apiKey, LOCAL_KEY)
        assert.strictEqual(localRequest!.temperature, 0.4)
        // Not OpenAI's own API: the widely known max_tokens.
        assert.strictEqual(localRequest!.maxTokens, 99)
        assert.strictEqual((yield* local.requests).length, 1)
        const envRequests = yield* envServer.requests
        assert.deepStrictEqual(
          envRequests.map((request) => [request.model, request.apiKey, request.temperature]),
          [["gpt-4o-mini", ENV_KEY, undefined]]
        )
      })
  )

  it.live("a provider edited (new version) gets a new client with its new key and server", () =>
    Effect.gen(function* () {
      const first = yield* FakeOpenAI.make({ apiKey: LOCAL_KEY })
      const second = yield* FakeOpenAI.make({ apiKey: "sk-rotated-2222222222222222" })
      const llm = make({
        apiKey: undefined,
        baseUrl: undefined,
        fallbackModel: undefined,
        prices: defaultPrices
      })
      yield* llm.complete({ model: "m", messages, endpoint: endpointOf(first) })
      const edited = endpointOf(second, { version: 2, apiKey: Redacted.make("sk-rotated-2222222222222222") })
      yield* llm.complete({ model: "m", messages, endpoint: edited })
      assert.strictEqual((yield* first.requests).length, 1)
      assert.strictEqual((yield* second.requests)[0]!.apiKey, "sk-rotated-2222222222222222")
    })
  )

  it.live("the env fallback model is not used for a provider; the bot's own fallback is", () =>
    Effect.gen(function* () {
      const local = yield* FakeOpenAI.make({ apiKey: LOCAL_KEY })
      const llm = make({
        apiKey: undefined,
        baseUrl: undefined,
        fallbackModel: "gpt-4o-mini",
        prices: defaultPrices,
        maxRetries: 0
      })
      yield* local.failNext({ status: 503, model: "big" })
      const error = yield* Effect.flip(
        llm.complete({ model: "big", messages, endpoint: endpointOf(local), fallbackModel: null })
      )
      assert.strictEqual(error.kind, "unavailable")
      yield* local.failNext({ status: 503, model: "big" })
      const answer = yield* llm.complete({
        model: "big",
        messages,
        endpoint: endpointOf(local),
        fallbackModel: "small"
      })
      assert.isTrue(answer.usedFallback)
      assert.deepStrictEqual(
        (yield* local.requests).map((request) => request.model),
        ["big", "big", "small"]
      )
    })
  )
})

describe("ProviderProbeHttp", () => {
  const probe = ProviderProbeHttp.make({ timeout: "300 millis" })

  it.live("a key the server takes passes; a refused one is InvalidProviderKey, without the key", () =>
    Effect.gen(function* () {
      const local = yield* FakeOpenAI.make({ apiKey: LOCAL_KEY })
      yield* probe.check(local.baseUrl.href, Redacted.make(LOCAL_KEY))
      const refused = yield* Effect.flip(
        probe.check(local.baseUrl.href, Redacted.make("sk-nope-3333333333333"))
      )
      assert.strictEqual(refused._tag, "InvalidProviderKey")
      assert.notInclude(refused.message, "sk-nope")
    })
  )

  it.live("a server that does not answer in time, or at all, or with 5xx is ProviderUnreachable", () =>
    Effect.gen(function* () {
      const local = yield* FakeOpenAI.make()
      yield* local.failNext({ status: "hang" })
      const hung = yield* Effect.flip(probe.check(local.baseUrl.href, Redacted.make(LOCAL_KEY)))
      assert.strictEqual(hung._tag, "ProviderUnreachable")
      assert.include(hung.message, "no answer within")
      yield* local.failNext({ status: 500 })
      assert.strictEqual(
        (yield* Effect.flip(probe.check(local.baseUrl.href, Redacted.make(LOCAL_KEY))))._tag,
        "ProviderUnreachable"
      )
      yield* local.failNext({ status: "reset" })
      assert.strictEqual(
        (yield* Effect.flip(probe.check(local.baseUrl.href, Redacted.make(LOCAL_KEY))))._tag,
        "ProviderUnreachable"
      )
    })
  )

  it.live("a server without /models (a wrong base URL) is ProviderNotCompatible", () =>
    Effect.gen(function* () {
      const local = yield* FakeOpenAI.make()
      const error = yield* Effect.flip(probe.check(local.baseUrl.origin, Redacted.make(LOCAL_KEY)))
      assert.strictEqual(error._tag, "ProviderNotCompatible")
      assert.include(error.message, "404")
    })
  )
})
