/**
 * providers at the adapter edge: one LanguageModelOpenAI serves the
 * env default and any provider endpoint, each with its own key, prices and
 * client (rebuilt when the provider changes), through the outbound guard,
 * with the server's words withheld; ProviderProbeHttp tells a refused key
 * and a refused URL apart from everything else, which looks all alike.
 */
import type { ChatTurn, ModelEndpoint } from "@botfleet/application"
import { FakeOpenAI } from "@botfleet/testing"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Redacted, Stream } from "effect"
import { make } from "../../src/languageModel/LanguageModelOpenAI.ts"
import { defaultPrices } from "../../src/languageModel/prices.ts"
import * as Outbound from "../../src/outbound/OutboundClient.ts"
import * as ProviderProbeHttp from "../../src/providers/ProviderProbeHttp.ts"
import { closedPort, localServer } from "../outbound/localServer.ts"

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

describe("LanguageModelOpenAI, a provider behind the outbound guard", () => {
  const MARKER = "sk-live-LEAKED-7f3a9c"
  const llmWith = (privateNetworks: "allow" | "deny") =>
    make({
      apiKey: Redacted.make(ENV_KEY),
      baseUrl: undefined,
      fallbackModel: undefined,
      prices: defaultPrices,
      maxRetries: 0,
      outbound: Outbound.make({ privateNetworks })
    })

  it.live("a provider on a metadata address fails at once (bad_request, not retried), nothing sent", () =>
    Effect.gen(function* () {
      for (const baseUrl of ["http://169.254.169.254/v1", "http://[::ffff:a9fe:a9fe]/v1"]) {
        const error = yield* Effect.flip(
          llmWith("allow").complete({
            model: "m",
            messages,
            endpoint: { ...endpointOf(yield* FakeOpenAI.make()), baseUrl }
          })
        )
        assert.strictEqual(error.kind, "bad_request")
        assert.include(error.description, "URL not allowed")
        assert.include(error.description, "never allowed")
      }
    })
  )

  it.live("under deny, a provider on 127.0.0.1 or localhost is refused and the server gets nothing", () =>
    Effect.gen(function* () {
      const local = yield* FakeOpenAI.make({ apiKey: LOCAL_KEY })
      const llm = llmWith("deny")
      const byAddress = yield* Effect.flip(
        llm.complete({ model: "m", messages, endpoint: endpointOf(local) })
      )
      assert.include(byAddress.description, "OUTBOUND_PRIVATE_NETWORKS=deny")
      const byName = yield* Effect.flip(
        llm
          .stream({
            model: "m",
            messages,
            endpoint: endpointOf(local, {
              providerId: "provider-2",
              baseUrl: local.baseUrl.href.replace("127.0.0.1", "localhost")
            })
          })
          .pipe(Stream.runDrain)
      )
      assert.strictEqual(byName.kind, "bad_request")
      assert.include(byName.description, "resolves to a loopback address")
      assert.strictEqual((yield* local.requests).length, 0)
    })
  )

  it.live("a provider's error body is withheld: the status and a plain code stay, its words do not", () =>
    Effect.gen(function* () {
      const local = yield* FakeOpenAI.make({ apiKey: LOCAL_KEY })
      const body = {
        error: {
          message: `internal: ${MARKER} ${"x".repeat(20_000)}`,
          type: "server_error",
          code: `${MARKER} not a plain code`
        }
      }
      yield* local.failNext({ status: 500, body })
      const error = yield* Effect.flip(
        llmWith("allow").complete({ model: "m", messages, endpoint: endpointOf(local) })
      )
      assert.strictEqual(error.kind, "unavailable")
      assert.include(error.description, "HTTP 500 server_error")
      assert.notInclude(error.message, MARKER)
      assert.isBelow(error.message.length, 200)

      // The operator's own server (OPENAI_BASE_URL) is quoted, cut short.
      const envServer = yield* FakeOpenAI.make()
      yield* envServer.failNext({ status: 500, body })
      const fromEnv = yield* Effect.flip(
        make({
          apiKey: Redacted.make(ENV_KEY),
          baseUrl: envServer.baseUrl,
          fallbackModel: undefined,
          prices: defaultPrices,
          maxRetries: 0
        }).complete({ model: "m", messages })
      )
      assert.include(fromEnv.description, MARKER)
      assert.isBelow(fromEnv.description.length, 400)

      // A key where the message is cut is scrubbed first, not cut in two and missed.
      yield* envServer.failNext({
        status: 500,
        body: { error: { message: `${"x".repeat(280)} ${ENV_KEY} ${"y".repeat(100)}` } }
      })
      const cutAtKey = yield* Effect.flip(
        make({
          apiKey: Redacted.make(ENV_KEY),
          baseUrl: envServer.baseUrl,
          fallbackModel: undefined,
          prices: defaultPrices,
          maxRetries: 0
        }).complete({ model: "m", messages })
      )
      assert.include(cutAtKey.description, "[redacted]")
      assert.notInclude(cutAtKey.description, ENV_KEY.slice(0, 10))
    })
  )
})

describe("ProviderProbeHttp", () => {
  const outbound = Outbound.make({ privateNetworks: "allow" })
  const probe = ProviderProbeHttp.make({ outbound, timeout: "300 millis" })
  const key = Redacted.make(LOCAL_KEY)

  it.live(
    "a key the server takes passes; a refused one is InvalidProviderKey with the status, without the key",
    () =>
      Effect.gen(function* () {
        const local = yield* FakeOpenAI.make({ apiKey: LOCAL_KEY })
        yield* probe.check(local.baseUrl.href, key)
        const refused = yield* Effect.flip(
          probe.check(local.baseUrl.href, Redacted.make("sk-nope-3333333333333"))
        )
        assert.strictEqual(refused._tag, "InvalidProviderKey")
        assert.include(refused.message, "401")
        assert.notInclude(refused.message, "sk-nope")
      })
  )

  // Changed with the outbound guard: the probe used to name ECONNREFUSED, the timeout or the
  // status (and ProviderNotCompatible for a 404), which made it a port scanner.
  it.live(
    "a closed port, a hang, a reset, a 5xx, a 404 and a redirect all give one and the same answer",
    () =>
      Effect.scoped(
        Effect.gen(function* () {
          const local = yield* FakeOpenAI.make()
          const target = yield* localServer((_, response) => {
            response.writeHead(200, { "content-type": "application/json" }).end('{"object":"list","data":[]}')
          })
          const redirecting = yield* localServer((_, response) => {
            response.writeHead(302, { location: `${target.origin}/v1/models` }).end()
          })
          const notJson = yield* localServer((_, response) => {
            response.writeHead(200, { "content-type": "text/html" }).end("<html>a router's page</html>")
          })
          const failures: Array<readonly [string, Effect.Effect<void>]> = [
            ["hang", local.failNext({ status: "hang" })],
            ["500", local.failNext({ status: 500 })],
            ["reset", local.failNext({ status: "reset" })]
          ]
          const messages: Array<string> = []
          for (const [, script] of failures) {
            yield* script
            const error = yield* Effect.flip(probe.check(local.baseUrl.href, key))
            assert.strictEqual(error._tag, "ProviderUnreachable")
            messages.push(error.message)
          }
          const closed = `http://127.0.0.1:${yield* closedPort}/v1`
          for (const baseUrl of [
            local.baseUrl.origin,
            `${redirecting.origin}/v1`,
            `${notJson.origin}/v1`,
            closed
          ]) {
            const error = yield* Effect.flip(probe.check(baseUrl, key))
            assert.strictEqual(error._tag, "ProviderUnreachable", baseUrl)
            messages.push(error.message)
          }
          assert.deepStrictEqual(new Set(messages).size, 1, messages.join("\n"))
          for (const word of ["ECONNREFUSED", "300", "500", "404", "302", "html"]) {
            assert.notInclude(messages[0], word)
          }
          assert.deepStrictEqual(redirecting.received, ["GET /v1/models"])
          assert.deepStrictEqual(target.received, [], "the redirect was not followed")
        })
      )
  )

  it.live("a metadata, link-local or non-http URL is UrlNotAllowed, and nothing is sent", () =>
    Effect.gen(function* () {
      for (const baseUrl of [
        "http://169.254.169.254/latest",
        "http://2852039166/v1",
        "http://0xa9fea9fe/v1",
        "http://[::ffff:169.254.169.254]/v1",
        "http://[fe80::1]/v1",
        "http://0.0.0.0:8080/v1",
        "ftp://127.0.0.1/v1"
      ]) {
        const error = yield* Effect.flip(probe.check(baseUrl, key))
        assert.strictEqual(error._tag, "UrlNotAllowed", baseUrl)
        assert.notInclude(error.message, LOCAL_KEY)
      }
    })
  )

  it.live("under deny, a local server is UrlNotAllowed, by address and by name", () =>
    Effect.gen(function* () {
      const local = yield* FakeOpenAI.make({ apiKey: LOCAL_KEY })
      const strict = ProviderProbeHttp.make({ outbound: Outbound.make({ privateNetworks: "deny" }) })
      const byAddress = yield* Effect.flip(strict.check(local.baseUrl.href, key))
      assert.strictEqual(byAddress._tag, "UrlNotAllowed")
      assert.include(byAddress.message, "OUTBOUND_PRIVATE_NETWORKS=deny")
      const byName = yield* Effect.flip(
        strict.check(local.baseUrl.href.replace("127.0.0.1", "localhost"), key)
      )
      assert.strictEqual(byName._tag, "UrlNotAllowed")
      assert.strictEqual((yield* local.requests).length, 0)
    })
  )
})
