import { estimateTokens, tokensAtMost } from "@botfleet/domain"
import { assert, describe, it } from "@effect/vitest"
import { make } from "../../src/tokenCounter/TokenCounterTiktoken.ts"

describe("TokenCounterTiktoken", () => {
  it("counts with the model's encoding; an unknown model gets the estimate", () => {
    const counter = make()
    // "hello world" is two tokens in both encodings.
    assert.strictEqual(counter.count("gpt-4o-mini", "hello world"), 2)
    assert.strictEqual(counter.count("gpt-3.5-turbo", "hello world"), 2)
    const text = "Ceci n'est pas une pipe. ".repeat(20)
    assert.strictEqual(counter.count("llama3:8b", text), estimateTokens(text))
    assert.isBelow(counter.count("gpt-4o", text), estimateTokens(text), "the estimate errs high")
  })

  it("a special token typed by a user is text, not a refusal", () => {
    const counter = make()
    assert.isAbove(counter.count("gpt-4o", "before <|endoftext|> after"), 3)
  })

  it("remembers a stored message's count by its id, forgets the least recent past its capacity", () => {
    // Two generations of one entry each: three ids are more than it keeps.
    const counter = make(2)
    const long = "word ".repeat(100)
    const tokens = counter.count("gpt-4o", long)
    assert.strictEqual(counter.countStored("gpt-4o", "a", long), tokens)
    // Same id and length: the remembered count, whatever the text (a stored text does not change).
    assert.notStrictEqual(counter.count("gpt-4o", "x".repeat(long.length)), tokens)
    assert.strictEqual(counter.countStored("gpt-4o", "a", "x".repeat(long.length)), tokens)
    // Another length under the same id is counted again.
    assert.strictEqual(counter.countStored("gpt-4o", "a", "word word"), 2)
    counter.countStored("gpt-4o", "b", "one")
    counter.countStored("gpt-4o", "c", "two")
    // "a" was the least recent of three: gone, so its text is counted anew.
    assert.strictEqual(
      counter.countStored("gpt-4o", "a", "x".repeat(9)),
      counter.count("gpt-4o", "x".repeat(9))
    )
    // Per encoding: an estimate is never taken for a tokenizer's count.
    assert.strictEqual(counter.countStored("llama3", "b", "one"), estimateTokens("one"))
  })

  it("never counts more tokens than the text's UTF-8 bytes (the bound a history is first checked by)", () => {
    const counter = make()
    const texts = [
      "hello world",
      "Привет, как дела?",
      "日本語のテキスト",
      "emoji 😀👍🏽 and <|endoftext|> typed by a user",
      "a\uD800b lone surrogate",
      " !\"#$%&'()*+,-./0123456789:;<=>?@[\\]^_`{|}~".repeat(20),
      "x".repeat(5_000)
    ]
    for (const text of texts) {
      assert.isAtMost(counter.count("gpt-4o", text), tokensAtMost(text), `o200k: ${text.slice(0, 40)}`)
      assert.isAtMost(counter.count("gpt-4", text), tokensAtMost(text), `cl100k: ${text.slice(0, 40)}`)
    }
  })
})
