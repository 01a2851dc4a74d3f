import { assert, describe, it } from "@effect/vitest"
import { Effect, References, Tracer } from "effect"
import { spanFn } from "../../src/observability/spanFn.ts"

/** The span the body runs in, if any. */
const currentSpanName = Effect.map(Effect.option(Effect.currentSpan), (span) =>
  span._tag === "Some" ? span.value.name : null
)

describe("spanFn", () => {
  for (const enabled of [true, false]) {
    it.effect(
      `runs generator and plain bodies with their pipeables (tracing ${enabled ? "on" : "off"})`,
      () =>
        Effect.gen(function* () {
          const fn = yield* spanFn
          const generator = fn("Test.generator")(
            function* (n: number) {
              return [n * 2, yield* currentSpanName] as const
            },
            (effect, n) => Effect.map(effect, ([value, span]) => [value + n, span] as const)
          )
          const plain = fn("Test.plain")((n: number) =>
            Effect.map(currentSpanName, (span) => [n * 3, span] as const)
          )
          const [doubled, generatorSpan] = yield* generator(5)
          const [tripled, plainSpan] = yield* plain(5)
          assert.strictEqual(doubled, 15)
          assert.strictEqual(tripled, 15)
          // Spans only while traces are exported.
          assert.strictEqual(generatorSpan, enabled ? "Test.generator" : null)
          assert.strictEqual(plainSpan, enabled ? "Test.plain" : null)
        }).pipe(
          Effect.provideService(References.TracerEnabled, enabled),
          Effect.withTracer(Tracer.make({ span: (options) => new Tracer.NativeSpan(options) }))
        )
    )
  }
})
