/**
 * The speech adapter over real HTTP: what it asks for, Ogg Opus told apart
 * from other formats, the chat model's error kinds with retries only for
 * passing failures, a provider's URL through the outbound guard, and the key
 * kept out of errors.
 */
import { type ModelEndpoint, SpeechSynthesizer } from "@botfleet/application"
import { FakeOpenAI } from "@botfleet/testing"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Layer, Redacted } from "effect"
import * as Outbound from "../../src/outbound/OutboundClient.ts"
import * as OutboundHttpNode from "../../src/outbound/OutboundHttpNode.ts"
import * as SpeechSynthesizerOpenAI from "../../src/speechSynthesizer/SpeechSynthesizerOpenAI.ts"
import { speechCost } from "../../src/speechSynthesizer/speechPrices.ts"
import { localServer } from "../outbound/localServer.ts"

const KEY = "sk-speech-secret-0123456789"

const synthesizer = (
  baseUrl: string,
  privateNetworks: "allow" | "deny" = "allow"
): Effect.Effect<SpeechSynthesizer["Service"]> =>
  SpeechSynthesizer.pipe(
    Effect.provide(
      SpeechSynthesizerOpenAI.layer({ apiKey: Redacted.make(KEY), baseUrl, timeoutMs: 2_000 }).pipe(
        Layer.provide(OutboundHttpNode.layer(Outbound.make({ privateNetworks })))
      )
    )
  )

const providerAt = (baseUrl: string): ModelEndpoint => ({
  providerId: "provider-1",
  version: 1,
  baseUrl,
  apiKey: Redacted.make(KEY),
  prices: {}
})

const request = { model: "tts-1", voice: "nova", input: "Bonjour, Paris." }

describe("SpeechSynthesizerOpenAI", () => {
  it.effect("asks /audio/speech for Opus and gets Ogg Opus, priced per character", () =>
    Effect.scoped(
      Effect.gen(function* () {
        const fake = yield* FakeOpenAI.make()
        const speech = yield* (yield* synthesizer(fake.baseUrl.href)).synthesize(request)
        assert.strictEqual(speech.format, "ogg_opus")
        assert.strictEqual(speech.fileName, "answer.ogg")
        assert.deepStrictEqual([...speech.audio], [...FakeOpenAI.SPEECH_AUDIO])
        assert.closeTo(speech.costUsd, speechCost("tts-1", request.input.length), 1e-15)
        assert.closeTo(speech.costUsd, (15 * 15) / 1_000_000, 1e-15)
        const [asked] = yield* fake.speeches
        assert.deepStrictEqual(
          [asked?.model, asked?.voice, asked?.input, asked?.responseFormat, asked?.apiKey],
          ["tts-1", "nova", "Bonjour, Paris.", "opus", KEY]
        )
      })
    )
  )

  // Live: the retry waits its real backoff (about half a second).
  it.live("a 503 is retried; a 401 is auth, not retried, and the key is not in the error", () =>
    Effect.scoped(
      Effect.gen(function* () {
        const fake = yield* FakeOpenAI.make()
        const speak = yield* synthesizer(fake.baseUrl.href)
        yield* fake.failNextSpeech(503)
        yield* speak.synthesize(request)
        assert.lengthOf(yield* fake.speeches, 2)
        yield* fake.failNextSpeech(401)
        const refused = yield* Effect.flip(speak.synthesize(request))
        assert.strictEqual(refused.kind, "auth")
        assert.lengthOf(yield* fake.speeches, 3)
        assert.notInclude(JSON.stringify(refused) + refused.message, KEY)
      })
    )
  )

  it.effect("a server that answers MP3 is told apart: another format, named for its type", () =>
    Effect.scoped(
      Effect.gen(function* () {
        const server = yield* localServer((_, response) => {
          response.writeHead(200, { "content-type": "audio/mpeg" }).end(Buffer.from("ID3\u0003fake mp3"))
        })
        const speech = yield* (yield* synthesizer(server.origin)).synthesize(request)
        assert.strictEqual(speech.format, "other")
        assert.strictEqual(speech.fileName, "answer.mp3")
      })
    )
  )

  it.effect(
    "a provider's URL goes through the guard: a private address refused is bad_request, nothing sent",
    () =>
      Effect.scoped(
        Effect.gen(function* () {
          const server = yield* localServer((_, response) => response.end("never"))
          const speak = yield* synthesizer("https://api.openai.com/v1", "deny")
          const refused = yield* Effect.flip(
            speak.synthesize({ ...request, endpoint: providerAt(`${server.origin}/v1`) })
          )
          assert.strictEqual(refused.kind, "bad_request")
          assert.include(refused.description, "URL not allowed")
          assert.deepStrictEqual(server.received, [])
        })
      )
  )

  it.effect("a provider's server is asked with the provider's key", () =>
    Effect.scoped(
      Effect.gen(function* () {
        const fake = yield* FakeOpenAI.make()
        const speak = yield* synthesizer("http://127.0.0.1:9/unused")
        const speech = yield* speak.synthesize({ ...request, endpoint: providerAt(fake.baseUrl.href) })
        assert.strictEqual(speech.format, "ogg_opus")
        assert.lengthOf(yield* fake.speeches, 1)
      })
    )
  )
})
