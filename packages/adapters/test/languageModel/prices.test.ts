import { assert, describe, it } from "@effect/vitest"
import { Result } from "effect"
import {
  costOf,
  defaultPrices,
  parsePrices,
  priceOf,
  pricesWithOverrides
} from "../../src/languageModel/prices.ts"

const failureOf = <A, E>(result: Result.Result<A, E>): E => {
  if (Result.isSuccess(result)) throw new Error("expected a failure")
  return result.failure
}

describe("parsePrices", () => {
  it("reads model=input/output entries, tolerating blanks and a trailing comma", () => {
    const table = Result.getOrThrow(parsePrices(" my-model=1.5/3, local/llama=0/0 ,.5=.25/.75,"))
    assert.deepStrictEqual(
      [...table],
      [
        ["my-model", { input: 1.5, output: 3 }],
        ["local/llama", { input: 0, output: 0 }],
        [".5", { input: 0.25, output: 0.75 }]
      ]
    )
    assert.strictEqual(Result.getOrThrow(parsePrices("")).size, 0)
  })

  it("names the malformed entry and what was expected", () => {
    for (const [text, reason] of [
      ["gpt-4o=abc/1", 'input price "abc"'],
      ["gpt-4o=1", "two prices"],
      ["gpt-4o=1/2/3", "two prices"],
      ["gpt-4o", "missing '='"],
      ["=1/2", "missing model name"],
      ["gpt 4o=1/2", "whitespace"],
      ["gpt-4o=1/-2", 'output price "-2"'],
      ["gpt-4o=1e3/2", 'input price "1e3"'],
      ["gpt-4o=/2", 'input price ""']
    ] as const) {
      const error = failureOf(parsePrices(`ok=1/2,${text}`))
      assert.strictEqual(error._tag, "InvalidPrices")
      assert.strictEqual(error.entry, text)
      assert.include(error.message, reason)
      assert.include(error.message, "model=input/output")
    }
  })

  it("overrides replace and extend the built-in table", () => {
    const table = Result.getOrThrow(pricesWithOverrides("gpt-4o=3/12,my-model=1/2"))
    assert.deepStrictEqual(table.get("gpt-4o"), { input: 3, output: 12 })
    assert.deepStrictEqual(table.get("my-model"), { input: 1, output: 2 })
    assert.deepStrictEqual(table.get("gpt-4o-mini"), { input: 0.15, output: 0.6 })
    assert.strictEqual(Result.getOrThrow(pricesWithOverrides(undefined)), defaultPrices)
    assert.isTrue(Result.isFailure(pricesWithOverrides("gpt-4o=cheap")))
  })
})

describe("costOf", () => {
  it("prices by exact name", () => {
    assert.closeTo(costOf("gpt-4o-mini", 1_000_000, 1_000_000), 0.75, 1e-12)
    assert.closeTo(costOf("gpt-4o", 1000, 500), (1000 * 2.5 + 500 * 10) / 1e6, 1e-12)
    assert.closeTo(costOf("gpt-5-mini", 2_000_000, 0), 0.5, 1e-12)
  })

  it("falls back to the longest known prefix, and to the name after a vendor prefix", () => {
    assert.deepStrictEqual(priceOf("gpt-4o-mini-2024-07-18"), { input: 0.15, output: 0.6 })
    assert.deepStrictEqual(priceOf("gpt-4o-2024-08-06"), { input: 2.5, output: 10 })
    assert.deepStrictEqual(priceOf("gpt-4.1-nano-2025-04-14"), { input: 0.1, output: 0.4 })
    assert.deepStrictEqual(priceOf("openai/gpt-4.1-mini"), { input: 0.4, output: 1.6 })
    assert.deepStrictEqual(priceOf("o4-mini-2025-04-16"), { input: 1.1, output: 4.4 })
  })

  it("costs 0 for an unknown model", () => {
    assert.strictEqual(costOf("llama3.2:3b", 1000, 1000), 0)
    assert.strictEqual(costOf("constructor", 1000, 1000), 0)
  })

  it("uses the given table", () => {
    const table = Result.getOrThrow(parsePrices("llama3.2=1/1"))
    assert.closeTo(costOf("llama3.2:3b", 500_000, 500_000, table), 1, 1e-12)
  })
})
