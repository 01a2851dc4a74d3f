import type { ChatTurn } from "@botfleet/application"
import { FakeOpenAI } from "@botfleet/testing"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Redacted, Stream, Tracer } from "effect"
import { type LanguageModelOpenAIOptions, make } from "../../src/languageModel/LanguageModelOpenAI.ts"
import { costOf, defaultPrices } from "../../src/languageModel/prices.ts"

const SECRET = "sk-test-a1b2c3d4e5f6-very-secret"

const messages: ReadonlyArray<ChatTurn> = [
  { role: "system", content: "You are terse." },
  { role: "user", content: "hello there" }
]

const adapterFor = (fake: FakeOpenAI.FakeOpenAI, options: Partial<LanguageModelOpenAIOptions> = {}) =>
  make({
    apiKey: Redacted.make(SECRET),
    baseUrl: fake.baseUrl,
    fallbackModel: undefined,
    prices: defaultPrices,
    ...options
  })

// Real sockets and real backoff delays: these run on the live clock.
describe("LanguageModelOpenAI", () => {
  it.live("answers with text, token usage and the cost of the model that answered", () =>
    Effect.gen(function* () {
      const fake = yield* FakeOpenAI.make()
      yield* fake.setReply((request) => ({
        content: `reply to: ${request.messages.at(-1)?.content}`,
        model: `${request.model}-2024-07-18`
      }))
      const completion = yield* adapterFor(fake).complete({ model: "gpt-4o-mini", messages })

      const promptTokens = Math.ceil(("You are terse.".length + "hello there".length) / 4)
      const completionTokens = Math.ceil("reply to: hello there".length / 4)
      assert.deepStrictEqual(completion, {
        text: "reply to: hello there",
        model: "gpt-4o-mini-2024-07-18",
        inputTokens: promptTokens,
        outputTokens: completionTokens,
        costUsd: costOf("gpt-4o-mini", promptTokens, completionTokens),
        usedFallback: false
      })
      assert.isAbove(completion.costUsd, 0)
      const requests = yield* fake.requests
      assert.strictEqual(requests.length, 1)
      assert.strictEqual(requests[0]!.model, "gpt-4o-mini")
      assert.deepStrictEqual(requests[0]!.messages, messages)
      assert.strictEqual(requests[0]!.apiKey, SECRET)
    })
  )

  it.live("without a key sends a placeholder, so keyless local servers work", () =>
    Effect.gen(function* () {
      const fake = yield* FakeOpenAI.make()
      const completion = yield* adapterFor(fake, { apiKey: undefined }).complete({
        model: "llama3.2",
        messages
      })
      assert.strictEqual(completion.text, "reply to: hello there")
      assert.strictEqual(completion.costUsd, 0)
      const [request] = yield* fake.requests
      assert.isString(request?.apiKey)
      assert.isNotEmpty(request?.apiKey)
    })
  )

  it.live("retries a 500 and succeeds", () =>
    Effect.gen(function* () {
      const fake = yield* FakeOpenAI.make()
      yield* fake.failNext({ status: 500 })
      const completion = yield* adapterFor(fake).complete({ model: "gpt-4o-mini", messages })
      assert.strictEqual(completion.text, "reply to: hello there")
      assert.strictEqual((yield* fake.requests).length, 2)
    })
  )

  it.live("waits for retry-after on a 429, then succeeds", () =>
    Effect.gen(function* () {
      const fake = yield* FakeOpenAI.make()
      yield* fake.failNext({ status: 429, retryAfter: 1 })
      const completion = yield* adapterFor(fake).complete({ model: "gpt-4o-mini", messages })
      assert.isFalse(completion.usedFallback)
      const [first, second] = yield* fake.requests
      assert.isAtLeast(second!.time - first!.time, 950)
    })
  )

  it.live("does not hold a request for a retry-after beyond 20 s: the caller backs off", () =>
    Effect.gen(function* () {
      const fake = yield* FakeOpenAI.make()
      yield* fake.failNext({ status: 429, retryAfter: 60 })
      const error = yield* Effect.flip(adapterFor(fake).complete({ model: "gpt-4o-mini", messages }))
      assert.strictEqual(error.kind, "rate_limited")
      assert.strictEqual(error.retryAfterSeconds, 60)
      assert.isTrue(error.isRetryable)
      assert.strictEqual((yield* fake.requests).length, 1)
    })
  )

  it.live(
    "a 429 asking more than a second is not waited in the request: the pacer waits without the slot",
    () =>
      Effect.gen(function* () {
        const fake = yield* FakeOpenAI.make()
        yield* fake.failNext({ status: 429, retryAfter: 3 })
        const started = Date.now()
        const error = yield* Effect.flip(adapterFor(fake).complete({ model: "gpt-4o-mini", messages }))
        assert.isBelow(Date.now() - started, 1_000)
        assert.strictEqual(error.kind, "rate_limited")
        assert.strictEqual(error.retryAfterSeconds, 3)
        assert.strictEqual((yield* fake.requests).length, 1)
      })
  )

  it.live(
    "when the fallback is refused too, the refusal keeps the key's rate-limit headers for the pacer",
    () =>
      Effect.gen(function* () {
        const fake = yield* FakeOpenAI.make()
        // One call a minute: the first is answered, the primary and fallback after it refused.
        yield* fake.setRateLimit(1)
        const adapter = adapterFor(fake, { fallbackModel: "gpt-4o", maxRetries: 0 })
        yield* adapter.complete({ model: "gpt-4o-mini", messages })
        const error = yield* Effect.flip(adapter.complete({ model: "gpt-4o-mini", messages }))
        assert.strictEqual(error.kind, "rate_limited")
        assert.include(error.description, "also failed (rate_limited)")
        assert.deepStrictEqual(
          (yield* fake.requests).map((request) => request.model),
          ["gpt-4o-mini", "gpt-4o-mini", "gpt-4o"]
        )
        assert.strictEqual(error.rateLimit?.limitRequests, 1)
        assert.strictEqual(error.rateLimit?.remainingRequests, 0)
        assert.isAbove(error.retryAfterSeconds ?? 0, 1)
      })
  )

  it.live("a 401 is auth, tried once, never falls back, and never repeats the key", () =>
    Effect.gen(function* () {
      const fake = yield* FakeOpenAI.make()
      // The fake echoes the whole key in its message, as a careless server might.
      yield* fake.failNext({ status: 401, times: Number.POSITIVE_INFINITY })
      const error = yield* Effect.flip(
        adapterFor(fake, { fallbackModel: "gpt-4o" }).complete({ model: "gpt-4o-mini", messages })
      )
      assert.strictEqual(error.kind, "auth")
      assert.isFalse(error.isRetryable)
      assert.strictEqual((yield* fake.requests).length, 1)
      assert.include(error.message, "Incorrect API key")
      assert.notInclude(error.message, SECRET)
      assert.notInclude(JSON.stringify(error), SECRET)
      assert.notInclude(String(error), SECRET)
    })
  )

  it.live("insufficient_quota is quota, tried once, no fallback", () =>
    Effect.gen(function* () {
      const fake = yield* FakeOpenAI.make()
      yield* fake.failNext({ status: 429, code: "insufficient_quota", times: Number.POSITIVE_INFINITY })
      const error = yield* Effect.flip(
        adapterFor(fake, { fallbackModel: "gpt-4o" }).complete({ model: "gpt-4o-mini", messages })
      )
      assert.strictEqual(error.kind, "quota")
      assert.strictEqual(error.model, "gpt-4o-mini")
      assert.strictEqual((yield* fake.requests).length, 1)
    })
  )

  it.live("a server that never answers times out after the retries", () =>
    Effect.gen(function* () {
      const fake = yield* FakeOpenAI.make()
      yield* fake.failNext({ status: "hang", times: Number.POSITIVE_INFINITY })
      const error = yield* Effect.flip(
        adapterFor(fake, { requestTimeout: "200 millis", maxRetries: 1 }).complete({
          model: "gpt-4o-mini",
          messages
        })
      )
      assert.strictEqual(error.kind, "timeout")
      assert.strictEqual((yield* fake.requests).length, 2)
    })
  )

  it.live("a reset connection is unavailable", () =>
    Effect.gen(function* () {
      const fake = yield* FakeOpenAI.make()
      yield* fake.failNext({ status: "reset", times: Number.POSITIVE_INFINITY })
      const error = yield* Effect.flip(
        adapterFor(fake, { maxRetries: 1 }).complete({ model: "gpt-4o-mini", messages })
      )
      assert.strictEqual(error.kind, "unavailable")
      assert.strictEqual((yield* fake.requests).length, 2)
    })
  )

  it.live("a primary model down for good falls back to the fallback model", () =>
    Effect.gen(function* () {
      const fake = yield* FakeOpenAI.make()
      yield* fake.failNext({ status: 500, times: Number.POSITIVE_INFINITY, model: "gpt-4.1" })
      const completion = yield* adapterFor(fake, { fallbackModel: "gpt-4o-mini" }).complete({
        model: "gpt-4.1",
        messages
      })
      assert.isTrue(completion.usedFallback)
      assert.strictEqual(completion.model, "gpt-4o-mini")
      assert.strictEqual(
        completion.costUsd,
        costOf("gpt-4o-mini", completion.inputTokens, completion.outputTokens)
      )
      const models = (yield* fake.requests).map((request) => request.model)
      assert.deepStrictEqual(models, ["gpt-4.1", "gpt-4.1", "gpt-4.1", "gpt-4o-mini"])
    })
  )

  it.live("without a fallback, a primary model down for good is unavailable after its retries", () =>
    Effect.gen(function* () {
      const fake = yield* FakeOpenAI.make()
      yield* fake.failNext({ status: 500, times: Number.POSITIVE_INFINITY })
      const error = yield* Effect.flip(adapterFor(fake).complete({ model: "gpt-4.1", messages }))
      assert.strictEqual(error.kind, "unavailable")
      assert.strictEqual(error.model, "gpt-4.1")
      assert.strictEqual((yield* fake.requests).length, 3)
    })
  )

  it.live("an unknown model is a bad request, not retried, and goes straight to the fallback", () =>
    Effect.gen(function* () {
      const fake = yield* FakeOpenAI.make()
      yield* fake.failNext({
        status: 404,
        code: "model_not_found",
        times: Number.POSITIVE_INFINITY,
        model: "gpt-9"
      })
      const error = yield* Effect.flip(adapterFor(fake).complete({ model: "gpt-9", messages }))
      assert.strictEqual(error.kind, "bad_request")
      assert.include(error.description, "does not exist")

      yield* fake.clear
      yield* fake.failNext({
        status: 404,
        code: "model_not_found",
        times: Number.POSITIVE_INFINITY,
        model: "gpt-9"
      })
      const completion = yield* adapterFor(fake, { fallbackModel: "gpt-4o-mini" }).complete({
        model: "gpt-9",
        messages
      })
      assert.isTrue(completion.usedFallback)
      assert.deepStrictEqual(
        (yield* fake.requests).map((request) => request.model),
        ["gpt-9", "gpt-4o-mini"]
      )
    })
  )

  it.live("other bad requests are neither retried nor sent to the fallback", () =>
    Effect.gen(function* () {
      const fake = yield* FakeOpenAI.make()
      yield* fake.failNext({
        status: 400,
        body: {
          error: {
            message: "maximum context length exceeded",
            type: "invalid_request_error",
            code: "context_length_exceeded"
          }
        }
      })
      const error = yield* Effect.flip(
        adapterFor(fake, { fallbackModel: "gpt-4o" }).complete({ model: "gpt-4o-mini", messages })
      )
      assert.strictEqual(error.kind, "bad_request")
      assert.include(error.description, "context length")
      assert.strictEqual((yield* fake.requests).length, 1)
    })
  )

  it.live("when both models fail, the retryable error wins and the other is described", () =>
    Effect.gen(function* () {
      const fake = yield* FakeOpenAI.make()
      yield* fake.failNext({ status: 503, times: Number.POSITIVE_INFINITY, model: "gpt-4.1" })
      yield* fake.failNext({ status: 404, times: Number.POSITIVE_INFINITY, model: "no-such-fallback" })
      const error = yield* Effect.flip(
        adapterFor(fake, { fallbackModel: "no-such-fallback", maxRetries: 0 }).complete({
          model: "gpt-4.1",
          messages
        })
      )
      assert.strictEqual(error.kind, "unavailable")
      assert.strictEqual(error.model, "gpt-4.1")
      assert.include(error.description, "no-such-fallback also failed (bad_request)")
    })
  )

  it.live("an empty answer is valid only when the model stopped", () =>
    Effect.gen(function* () {
      const fake = yield* FakeOpenAI.make()
      yield* fake.setReply(() => ({ content: "" }))
      const empty = yield* adapterFor(fake).complete({ model: "gpt-4o-mini", messages })
      assert.strictEqual(empty.text, "")

      yield* fake.setReply(() => ({ content: null, finishReason: "length" }))
      const error = yield* Effect.flip(
        adapterFor(fake, { maxRetries: 0 }).complete({ model: "gpt-5-mini", messages })
      )
      assert.strictEqual(error.kind, "unavailable")
      assert.include(error.description, "length")
    })
  )

  it.live(
    "an empty answer is an attempt that failed: retried, then the fallback, each traced as unavailable",
    () =>
      Effect.gen(function* () {
        const fake = yield* FakeOpenAI.make()
        yield* fake.setReply((request) =>
          request.model === "gpt-4o-mini"
            ? { content: null, finishReason: "length" }
            : { content: "from the fallback" }
        )
        const spans: Array<Tracer.Span> = []
        const tracer = Tracer.make({
          span(options) {
            const span = Tracer.nativeTracer.span(options)
            spans.push(span)
            return span
          }
        })
        const completion = yield* adapterFor(fake, { fallbackModel: "gpt-4o", maxRetries: 1 })
          .complete({ model: "gpt-4o-mini", messages })
          .pipe(Effect.withTracer(tracer))

        assert.strictEqual(completion.text, "from the fallback")
        assert.isTrue(completion.usedFallback)
        const attempts = spans.filter((span) => span.name === "LanguageModel.attempt")
        assert.deepStrictEqual(
          attempts.map((span) => [span.attributes.get("llm.model"), span.attributes.get("llm.error_kind")]),
          [
            ["gpt-4o-mini", "unavailable"],
            ["gpt-4o-mini", "unavailable"],
            ["gpt-4o", undefined]
          ]
        )
      })
  )

  it.live("traces the call and each attempt without the key", () =>
    Effect.gen(function* () {
      const fake = yield* FakeOpenAI.make()
      yield* fake.failNext({ status: 500 })
      const spans: Array<Tracer.Span> = []
      const tracer = Tracer.make({
        span(options) {
          const span = Tracer.nativeTracer.span(options)
          spans.push(span)
          return span
        }
      })
      yield* adapterFor(fake).complete({ model: "gpt-4o-mini", messages }).pipe(Effect.withTracer(tracer))

      const call = spans.find((span) => span.name === "LanguageModel.complete")
      assert.isDefined(call)
      assert.strictEqual(call.attributes.get("llm.model"), "gpt-4o-mini")
      assert.strictEqual(call.attributes.get("llm.attempt"), 2)
      assert.strictEqual(call.attributes.get("llm.fallback_used"), false)
      assert.isAbove(Number(call.attributes.get("llm.input_tokens")), 0)
      assert.isAbove(Number(call.attributes.get("llm.output_tokens")), 0)
      const attempts = spans.filter((span) => span.name === "LanguageModel.attempt")
      assert.deepStrictEqual(
        attempts.map((span) => [span.attributes.get("llm.attempt"), span.attributes.get("llm.error_kind")]),
        [
          [1, "unavailable"],
          [2, undefined]
        ]
      )
      for (const span of spans) {
        for (const value of span.attributes.values()) assert.notInclude(String(value), SECRET)
      }
    })
  )
})

describe("LanguageModelOpenAI.stream", () => {
  const collect = (adapter: ReturnType<typeof adapterFor>, model = "gpt-4o-mini") =>
    Stream.runCollect(adapter.stream({ model, messages }))

  it.live("streams text deltas, then the whole answer with usage and cost", () =>
    Effect.gen(function* () {
      const fake = yield* FakeOpenAI.make()
      yield* fake.setReply(() => ({
        content: "one two three four five six seven",
        model: "gpt-4o-mini-2024-07-18"
      }))
      const events = yield* collect(adapterFor(fake))
      const deltas = events.flatMap((event) => (event._tag === "TextDelta" ? [event.text] : []))
      assert.isAbove(deltas.length, 1)
      assert.strictEqual(deltas.join(""), "one two three four five six seven")
      const last = events.at(-1)
      assert.strictEqual(last?._tag, "Finished")
      if (last?._tag !== "Finished") return
      const promptTokens = Math.ceil(("You are terse.".length + "hello there".length) / 4)
      const completionTokens = Math.ceil("one two three four five six seven".length / 4)
      assert.deepStrictEqual(last.completion, {
        text: "one two three four five six seven",
        model: "gpt-4o-mini-2024-07-18",
        inputTokens: promptTokens,
        outputTokens: completionTokens,
        costUsd: costOf("gpt-4o-mini", promptTokens, completionTokens),
        usedFallback: false
      })
      const [request] = yield* fake.requests
      assert.isTrue(request?.stream)
    })
  )

  it.live("retries a 500 before the first delta, then streams", () =>
    Effect.gen(function* () {
      const fake = yield* FakeOpenAI.make()
      yield* fake.failNext({ status: 500 })
      const events = yield* collect(adapterFor(fake))
      assert.strictEqual(events.at(-1)?._tag, "Finished")
      assert.strictEqual((yield* fake.requests).length, 2)
    })
  )

  it.live("a model that is down falls back to the fallback model", () =>
    Effect.gen(function* () {
      const fake = yield* FakeOpenAI.make()
      yield* fake.failNext({ status: 503, times: Infinity, model: "gpt-4o" })
      const events = yield* collect(
        adapterFor(fake, { fallbackModel: "gpt-4o-mini", maxRetries: 0 }),
        "gpt-4o"
      )
      const last = events.at(-1)
      assert.isTrue(last?._tag === "Finished" && last.completion.usedFallback)
      assert.deepStrictEqual(
        (yield* fake.requests).map((request) => request.model),
        ["gpt-4o", "gpt-4o-mini"]
      )
    })
  )

  it.live("a bad key fails the stream with auth and never shows the key", () =>
    Effect.gen(function* () {
      const fake = yield* FakeOpenAI.make()
      yield* fake.failNext({ status: 401 })
      const error = yield* Effect.flip(collect(adapterFor(fake)))
      assert.strictEqual(error.kind, "auth")
      assert.notInclude(error.message, SECRET)
      assert.strictEqual((yield* fake.requests).length, 1)
    })
  )

  it.live(
    "a server that stops writing mid-answer fails the stream as a timeout, after the deltas so far",
    () =>
      Effect.gen(function* () {
        const fake = yield* FakeOpenAI.make()
        yield* fake.setReply(() => "one two three four five six seven eight nine")
        // One event every 400 ms, a 250 ms timeout: the stream stalls after the first event.
        yield* fake.setStreamPace(400)
        const seen: Array<string> = []
        const started = Date.now()
        const error = yield* Effect.flip(
          Stream.runForEach(
            adapterFor(fake, { requestTimeout: "250 millis", maxRetries: 0 }).stream({
              model: "gpt-4o-mini",
              messages
            }),
            (event) => Effect.sync(() => event._tag === "TextDelta" && seen.push(event.text))
          )
        )
        assert.strictEqual(error.kind, "timeout")
        assert.isBelow(Date.now() - started, 2_000, "not left hanging")
        assert.deepStrictEqual(seen, [], "the role event came; the first words did not, in time")
      })
  )

  it.live("a slow but steady stream is not cut off: the timeout counts from the last chunk", () =>
    Effect.gen(function* () {
      const fake = yield* FakeOpenAI.make()
      yield* fake.setReply(() => "one two three four five six seven eight nine ten eleven twelve")
      // Eight events 150 ms apart (over a second in all), a 400 ms timeout.
      yield* fake.setStreamPace(150)
      const events = yield* Stream.runCollect(
        adapterFor(fake, { requestTimeout: "400 millis", maxRetries: 0 }).stream({
          model: "gpt-4o-mini",
          messages
        })
      )
      const last = events.at(-1)
      assert.isTrue(last?._tag === "Finished" && last.completion.text.startsWith("one two"))
    })
  )
})
