import { assert, describe, it } from "@effect/vitest"
import {
  chooseHistory,
  contextWindowOf,
  encodingOf,
  estimateTokens,
  historyRoom,
  promptBudget,
  tokensAtMost,
  UNKNOWN_CONTEXT_WINDOW
} from "../src/contextBudget.ts"

describe("contextBudget", () => {
  it("knows the windows and encodings of OpenAI's models; others get 8,192 and an estimate", () => {
    assert.strictEqual(contextWindowOf("gpt-4o"), 128_000)
    assert.strictEqual(contextWindowOf("gpt-4o-mini-2024-07-18"), 128_000)
    assert.strictEqual(contextWindowOf("gpt-4.1-nano"), 1_047_576)
    assert.strictEqual(contextWindowOf("openai/gpt-3.5-turbo"), 16_385)
    assert.strictEqual(contextWindowOf("gpt-4"), 8_192)
    assert.strictEqual(contextWindowOf("o3-mini"), 200_000)
    assert.strictEqual(contextWindowOf("llama3:8b"), UNKNOWN_CONTEXT_WINDOW)
    assert.strictEqual(encodingOf("gpt-4o-mini"), "o200k_base")
    assert.strictEqual(encodingOf("gpt-4-turbo"), "cl100k_base")
    assert.strictEqual(encodingOf("gpt-3.5-turbo"), "cl100k_base")
    assert.strictEqual(encodingOf("o4-mini"), "o200k_base")
    assert.strictEqual(encodingOf("llama3:8b"), null)
  })

  it("the estimate errs high: a quarter token per ASCII character plus margin, a token for any other", () => {
    assert.strictEqual(estimateTokens(""), 0)
    assert.strictEqual(estimateTokens("a".repeat(400)), 125)
    assert.strictEqual(estimateTokens("привет"), 6)
    // One emoji is one character (a surrogate pair), one token.
    assert.strictEqual(estimateTokens("😀"), 1)
  })

  it("the budget is contextTokens or the window; the answer's room is maxOutputTokens or a quarter, at most half", () => {
    assert.deepStrictEqual(promptBudget({ contextTokens: null, maxOutputTokens: null }, "gpt-4o"), {
      total: 128_000,
      answer: 4_096
    })
    assert.deepStrictEqual(promptBudget({ contextTokens: 2_000, maxOutputTokens: null }, "gpt-4o"), {
      total: 2_000,
      answer: 500
    })
    assert.deepStrictEqual(promptBudget({ contextTokens: 2_000, maxOutputTokens: 5_000 }, "gpt-4o"), {
      total: 2_000,
      answer: 1_000
    })
    assert.strictEqual(historyRoom({ total: 2_000, answer: 500 }, 300), 2_000 - 500 - 3 - 300)
    assert.strictEqual(historyRoom({ total: 2_000, answer: 500 }, 5_000), 0)
  })

  it("history: newest first, whole messages, no gaps, within tokens and count; the newest always kept", () => {
    const messages = [
      { id: "a", tokens: 10 },
      { id: "b", tokens: 50 },
      { id: "c", tokens: 5 },
      { id: "d", tokens: 20 }
    ]
    const ids = (chosen: { readonly kept: ReadonlyArray<{ readonly id: string }> }) =>
      chosen.kept.map((message) => message.id)
    const tokens = (message: { readonly tokens: number }) => message.tokens
    assert.deepStrictEqual(ids(chooseHistory(messages, tokens, 1_000, 10)), ["a", "b", "c", "d"])
    // b does not fit: a, though small, is not taken past the gap.
    const cut = chooseHistory(messages, tokens, 40, 10)
    assert.deepStrictEqual(ids(cut), ["c", "d"])
    assert.deepStrictEqual(
      cut.dropped.map((message) => message.id),
      ["a", "b"]
    )
    assert.strictEqual(cut.tokens, 25)
    assert.deepStrictEqual(ids(chooseHistory(messages, tokens, 1_000, 2)), ["c", "d"])
    // The message being answered stays even when it alone is over.
    assert.deepStrictEqual(ids(chooseHistory(messages, tokens, 5, 10)), ["d"])
    assert.deepStrictEqual(ids(chooseHistory(messages, tokens, 1_000, 0)), ["d"])
  })

  it("tokensAtMost is the text's UTF-8 bytes, never under the estimate", () => {
    const texts = [
      "",
      "hello world",
      "Привет, как дела?",
      "日本語のテキスト",
      "emoji 😀👍🏽",
      "a\uD800b",
      "end \uDBFF",
      "\uDC00 lone low"
    ]
    for (const text of texts) {
      assert.strictEqual(tokensAtMost(text), Buffer.byteLength(text, "utf8"), JSON.stringify(text))
      assert.isAtMost(estimateTokens(text), tokensAtMost(text), JSON.stringify(text))
    }
  })
})
