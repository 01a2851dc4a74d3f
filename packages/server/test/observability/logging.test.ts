import { assert, describe, it, vi } from "@effect/vitest"
import { Effect, References } from "effect"
import * as Logging from "../../src/observability/Logging.ts"

/** The JSON lines `effect` writes to stdout through the app's logger. */
const linesOf = async (effect: Effect.Effect<void>) => {
  const lines: Array<string> = []
  const write = vi.spyOn(process.stdout, "write").mockImplementation((chunk) => {
    lines.push(String(chunk))
    return true
  })
  try {
    await Effect.runPromise(effect.pipe(Effect.provide(Logging.layer({ format: "json", level: "info" }))))
  } finally {
    write.mockRestore()
  }
  return lines.map((line) => JSON.parse(line) as Record<string, unknown>)
}

describe("Logging", () => {
  it("carries a span's trace and span ids while tracing, and none for tracing's no-op spans", async () => {
    const [traced] = await linesOf(Effect.logInfo("traced").pipe(Effect.withSpan("Test.traced")))
    assert.strictEqual(traced?.message, "traced")
    assert.match(String(traced?.trace_id), /^[0-9a-f]{32}$/)
    assert.match(String(traced?.span_id), /^[0-9a-f]{16}$/)

    const [untraced] = await linesOf(
      Effect.logInfo("untraced").pipe(
        Effect.withSpan("Test.untraced"),
        Effect.provideService(References.TracerEnabled, false)
      )
    )
    assert.strictEqual(untraced?.message, "untraced")
    assert.notProperty(untraced, "trace_id")
    assert.notProperty(untraced, "span_id")
  })
})
