import { LanguageModel, LlmError } from "@botfleet/application"
import { assert, layer } from "@effect/vitest"
import { Effect } from "effect"
import { LanguageModelMemoryControl, layerMemory } from "../../src/llm/LanguageModelMemory.ts"

const messages = [
  { role: "system", content: "be kind" },
  { role: "user", content: "how are you today" }
] as const

layer(layerMemory())("LanguageModelMemory", (it) => {
  it.effect("echoes the last user message, counts words as tokens, records the request", () =>
    Effect.gen(function* () {
      const model = yield* LanguageModel
      const control = yield* LanguageModelMemoryControl
      yield* control.clear
      const completion = yield* model.complete({ model: "test-model", messages })
      assert.deepStrictEqual(completion, {
        text: "echo: how are you today",
        model: "test-model",
        inputTokens: 6,
        outputTokens: 5,
        costUsd: (6 * 1 + 5 * 2) / 1_000_000,
        usedFallback: false
      })
      assert.deepStrictEqual(yield* control.requests, [{ model: "test-model", messages }])

      yield* control.setReply((request) => `${request.messages.length} turns`)
      assert.strictEqual((yield* model.complete({ model: "unpriced", messages })).text, "2 turns")
      assert.strictEqual((yield* model.complete({ model: "unpriced", messages })).costUsd, 0)
    })
  )

  it.effect("fails the next calls as scripted, then answers again", () =>
    Effect.gen(function* () {
      const model = yield* LanguageModel
      const control = yield* LanguageModelMemoryControl
      yield* control.clear
      yield* control.failNext("rate_limited", 2)
      const first = yield* Effect.flip(model.complete({ model: "test-model", messages }))
      assert.strictEqual(first.kind, "rate_limited")
      assert.strictEqual(first.model, "test-model")
      yield* Effect.flip(model.complete({ model: "test-model", messages }))
      assert.isFalse((yield* model.complete({ model: "test-model", messages })).usedFallback)
    })
  )

  it.effect("falls back on retryable failures when switched on, never on auth", () =>
    Effect.gen(function* () {
      const model = yield* LanguageModel
      const control = yield* LanguageModelMemoryControl
      yield* control.clear
      yield* control.setFallbackModel("gpt-4o-mini")
      yield* control.failNext("unavailable")
      const completion = yield* model.complete({ model: "test-model", messages })
      assert.isTrue(completion.usedFallback)
      assert.strictEqual(completion.model, "gpt-4o-mini")
      assert.deepStrictEqual(
        (yield* control.requests).map((request) => request.model),
        ["test-model", "gpt-4o-mini"]
      )

      yield* control.failNext(
        new LlmError({ kind: "auth", model: "test-model", description: "bad key", retryAfterSeconds: null })
      )
      const error = yield* Effect.flip(model.complete({ model: "test-model", messages }))
      assert.strictEqual(error.kind, "auth")
      yield* control.setFallbackModel(undefined)
    })
  )
})
