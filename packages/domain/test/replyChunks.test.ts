import { assert, describe, it } from "@effect/vitest"
import { splitReply, TELEGRAM_TEXT_LIMIT } from "../src/replyChunks.ts"

const words = (count: number) => Array.from({ length: count }, (_, i) => `word${i}`).join(" ")

describe("splitReply", () => {
  it("keeps a short reply whole", () => {
    assert.deepStrictEqual(splitReply("  Hello there.  "), ["Hello there."])
  })

  it("cuts a long reply at paragraph breaks, every chunk within the limit", () => {
    const paragraph = `${"A sentence that goes on. ".repeat(60)}`.trim()
    const text = Array.from({ length: 8 }, () => paragraph).join("\n\n")
    const chunks = splitReply(text)
    assert.isAbove(chunks.length, 1)
    for (const chunk of chunks) assert.isAtMost(chunk.length, TELEGRAM_TEXT_LIMIT)
    // Cut at paragraph boundaries: no chunk starts or ends inside a paragraph.
    for (const chunk of chunks) assert.isTrue(chunk.startsWith("A sentence") && chunk.endsWith("goes on."))
    assert.strictEqual(chunks.join("\n\n"), text)
  })

  it("falls back to sentences, then words, and never loses text", () => {
    const text = words(3000)
    const chunks = splitReply(text, 1000)
    for (const chunk of chunks) assert.isAtMost(chunk.length, 1000)
    assert.strictEqual(chunks.join(" "), text)
    assert.isTrue(
      chunks.every((chunk) => /^word\d+/.test(chunk) && /word\d+$/.test(chunk)),
      "no word is cut"
    )
  })

  it("cuts a single unbroken run at the limit", () => {
    const chunks = splitReply("x".repeat(10_000))
    assert.deepStrictEqual(
      chunks.map((chunk) => chunk.length),
      [4096, 4096, 1808]
    )
  })
})
