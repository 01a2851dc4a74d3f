import { assert, describe, it } from "@effect/vitest"
import { Effect, Option } from "effect"
import { currentTraceparent, parseTraceparent } from "../../src/observability/traceContext.ts"

describe("currentTraceparent", () => {
  it.effect("null outside a span", () =>
    Effect.gen(function* () {
      assert.isNull(yield* currentTraceparent)
    })
  )

  it.effect("the span's W3C traceparent inside one, which parses back to the same ids", () =>
    Effect.gen(function* () {
      const [traceparent, span] = yield* Effect.all([currentTraceparent, Effect.currentSpan]).pipe(
        Effect.withSpan("Webhook.receive")
      )
      assert.strictEqual(traceparent, `00-${span.traceId}-${span.spanId}-01`)
      const parsed = Option.getOrThrow(parseTraceparent(traceparent))
      assert.deepStrictEqual([parsed.traceId, parsed.spanId], [span.traceId, span.spanId])
    })
  )

  it.effect("null under a parent continued from elsewhere: that span is not ours to hand on", () =>
    Effect.gen(function* () {
      const outside = Option.getOrThrow(parseTraceparent(`00-${"a".repeat(32)}-${"b".repeat(16)}-01`))
      assert.isNull(yield* Effect.withParentSpan(currentTraceparent, outside))
    })
  )
})
