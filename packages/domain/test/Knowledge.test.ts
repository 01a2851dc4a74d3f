import { describe, expect, it } from "vitest"
import {
  blocksOfHtml,
  blocksOfMarkdown,
  blocksOfText,
  chunkBlocks,
  formatOf,
  reciprocalRankFusion
} from "../src/Knowledge.ts"

describe("blocks", () => {
  it("reads Markdown headings, list items and paragraphs, and keeps a fenced block whole", () => {
    const blocks = blocksOfMarkdown(
      "# Install\n\nRun the **installer**\nthen reboot.\n\n## Linux\n\n- apt install bot\n- start it\n  with systemd\n\n```\na\n\nb\n```\n\nSetext\n======\n"
    )
    expect(blocks).toEqual([
      { kind: "heading", level: 1, text: "Install" },
      { kind: "paragraph", text: "Run the installer then reboot." },
      { kind: "heading", level: 2, text: "Linux" },
      { kind: "listItem", text: "apt install bot" },
      { kind: "listItem", text: "start it with systemd" },
      { kind: "paragraph", text: "a\n\nb" },
      { kind: "heading", level: 1, text: "Setext" }
    ])
  })

  it("reads HTML headings, list items and blocks, and drops scripts and styles", () => {
    const blocks = blocksOfHtml(
      "<html><head><title>x</title><style>p{}</style></head><body><h1>Refunds</h1><p>Within <b>30</b> days&nbsp;&amp; free.</p><script>alert(1)</script><ul><li>Keep the receipt</li><li>Ask support</li></ul><h2>Abroad</h2><div>Shipping &#8364;5</div></body></html>"
    )
    expect(blocks).toEqual([
      { kind: "heading", level: 1, text: "Refunds" },
      { kind: "paragraph", text: "Within 30 days & free." },
      { kind: "listItem", text: "Keep the receipt" },
      { kind: "listItem", text: "Ask support" },
      { kind: "heading", level: 2, text: "Abroad" },
      { kind: "paragraph", text: "Shipping €5" }
    ])
  })

  it("reads plain text paragraphs and bullet lines", () => {
    expect(blocksOfText("One\nline.\n\n- a\n- b\n\n\nTwo.")).toEqual([
      { kind: "paragraph", text: "One line." },
      { kind: "listItem", text: "a" },
      { kind: "listItem", text: "b" },
      { kind: "paragraph", text: "Two." }
    ])
  })
})

describe("chunkBlocks", () => {
  const settings = { maxChars: 200, overlapChars: 40 }

  it("keeps each chunk's heading path and position, and starts a new chunk at every heading", () => {
    const chunks = chunkBlocks(
      [
        { kind: "heading", level: 1, text: "Guide" },
        { kind: "paragraph", text: "Intro." },
        { kind: "heading", level: 2, text: "Install" },
        { kind: "listItem", text: "step one" },
        { kind: "heading", level: 3, text: "Linux" },
        { kind: "paragraph", text: "apt." },
        { kind: "heading", level: 2, text: "Use" },
        { kind: "paragraph", text: "Run it." }
      ],
      settings
    )
    expect(chunks).toEqual([
      { position: 0, headingPath: ["Guide"], text: "Intro." },
      { position: 1, headingPath: ["Guide", "Install"], text: "- step one" },
      { position: 2, headingPath: ["Guide", "Install", "Linux"], text: "apt." },
      { position: 3, headingPath: ["Guide", "Use"], text: "Run it." }
    ])
  })

  it("packs paragraphs whole up to maxChars and repeats the end of the previous chunk", () => {
    const paragraph = (n: number) => `Paragraph ${n} ${"word ".repeat(14).trim()}.`
    const blocks = [1, 2, 3, 4, 5].map((n) => ({ kind: "paragraph" as const, text: paragraph(n) }))
    const chunks = chunkBlocks(blocks, settings)
    expect(chunks.length).toBeGreaterThan(1)
    for (const chunk of chunks) expect(chunk.text.length).toBeLessThanOrEqual(settings.maxChars)
    // Every paragraph is in some chunk whole.
    for (const n of [1, 2, 3, 4, 5]) expect(chunks.some((c) => c.text.includes(paragraph(n)))).toBe(true)
    // The second chunk begins with words from the end of the first.
    const first = chunks[0]?.text ?? ""
    const second = chunks[1]?.text ?? ""
    const overlap = second.split("\n")[0] ?? ""
    expect(overlap.length).toBeGreaterThan(0)
    expect(overlap.length).toBeLessThanOrEqual(settings.overlapChars)
    expect(first.endsWith(overlap)).toBe(true)
  })

  it("cuts a paragraph longer than maxChars at sentence ends, losing no word", () => {
    const sentences = Array.from({ length: 30 }, (_, i) => `Sentence number ${i} is here.`)
    const chunks = chunkBlocks([{ kind: "paragraph", text: sentences.join(" ") }], {
      maxChars: 200,
      overlapChars: 0
    })
    expect(chunks.length).toBeGreaterThan(3)
    for (const chunk of chunks) {
      expect(chunk.text.length).toBeLessThanOrEqual(200)
      expect(chunk.text.endsWith(".")).toBe(true)
    }
    expect(chunks.map((c) => c.text).join(" ")).toBe(sentences.join(" "))
  })

  it("makes no chunk of an empty document", () => {
    expect(chunkBlocks([], settings)).toEqual([])
    expect(chunkBlocks([{ kind: "heading", level: 1, text: "Only a title" }], settings)).toEqual([])
  })
})

describe("formatOf", () => {
  it("trusts the media type, falls back to the name for octet-stream, refuses the rest", () => {
    expect(formatOf("application/pdf", "x.bin")).toBe("pdf")
    expect(formatOf("text/markdown; charset=utf-8", "x")).toBe("markdown")
    expect(formatOf("application/octet-stream", "Manual.DOCX")).toBe("docx")
    expect(formatOf(null, "notes.md")).toBe("markdown")
    expect(formatOf("image/png", "x.txt")).toBeUndefined()
    expect(formatOf(null, "archive.zip")).toBeUndefined()
  })
})

describe("reciprocalRankFusion", () => {
  it("adds 1/(k+rank) over the lists, so agreement beats one list's top", () => {
    const fused = reciprocalRankFusion(
      [
        ["a", "b", "c"],
        ["d", "b", "c"]
      ],
      (x) => x,
      60
    )
    expect(fused.map((f) => f.item)).toEqual(["b", "c", "a", "d"])
    expect(fused[1]?.score).toBeCloseTo(2 / 63, 10)
    expect(fused[0]?.score).toBeCloseTo(2 / 62, 10)
    expect(fused[2]?.score).toBeCloseTo(1 / 61, 10)
  })
})
