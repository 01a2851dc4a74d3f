import { LanguageModel } from "@botfleet/application"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Stream } from "effect"
import { LanguageModelMemoryControl, layerMemory } from "../../src/languageModel/LanguageModelMemory.ts"

const request = { model: "test-model", messages: [{ role: "user" as const, content: "hello big world" }] }

describe("LanguageModelMemory.stream", () => {
  it.effect("streams the same answer as complete, word by word, then Finished", () =>
    Effect.gen(function* () {
      const model = yield* LanguageModel
      const completion = yield* model.complete(request)
      const events = yield* Stream.runCollect(model.stream(request))
      const deltas = events.flatMap((event) => (event._tag === "TextDelta" ? [event.text] : []))
      assert.deepStrictEqual(deltas, ["echo:", " hello", " big", " world"])
      assert.deepStrictEqual(events.at(-1), { _tag: "Finished", completion })
    }).pipe(Effect.provide(layerMemory()))
  )

  it.effect("a scripted failure fails the stream before any text", () =>
    Effect.gen(function* () {
      yield* (yield* LanguageModelMemoryControl).failNext("rate_limited")
      const error = yield* Effect.flip(Stream.runCollect((yield* LanguageModel).stream(request)))
      assert.strictEqual(error.kind, "rate_limited")
    }).pipe(Effect.provide(layerMemory()))
  )
})
