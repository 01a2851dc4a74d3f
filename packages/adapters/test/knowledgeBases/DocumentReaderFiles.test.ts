/** Each format read into headings, paragraphs and list items; a malformed PDF fails with a reason an admin can read. */
import { readFileSync } from "node:fs"
import { fileURLToPath } from "node:url"
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { read } from "../../src/knowledgeBases/DocumentReaderFiles.ts"

const fixture = (name: string) =>
  new Uint8Array(
    readFileSync(fileURLToPath(new URL(`../../../testing/fixtures/knowledge/${name}`, import.meta.url)))
  )

describe("DocumentReaderFiles", () => {
  it.effect("reads a PDF's text page by page", () =>
    Effect.gen(function* () {
      const blocks = yield* read("pdf", fixture("descaling.pdf"))
      const text = blocks.map((block) => block.text).join(" ")
      assert.include(text, "Descale the kettle every month with citric acid.")
      assert.include(text, "Rinse twice")
    })
  )

  it.effect("reads a DOCX's heading styles as headings", () =>
    Effect.gen(function* () {
      const blocks = yield* read("docx", fixture("warranty.docx"))
      assert.deepStrictEqual(blocks, [
        { kind: "heading", level: 1, text: "Warranty" },
        {
          kind: "paragraph",
          text: "Every kettle carries a warranty of two years from the date of purchase."
        },
        { kind: "heading", level: 2, text: "Claims" },
        { kind: "paragraph", text: "To claim the warranty, send the serial number engraved under the base." }
      ])
    })
  )

  it.effect("fails a malformed PDF, and a DOCX that is not a zip, with a reason", () =>
    Effect.gen(function* () {
      const pdf = yield* Effect.flip(read("pdf", fixture("broken.pdf")))
      assert.strictEqual(pdf._tag, "DocumentUnreadable")
      assert.match(pdf.reason, /^not a readable PDF file: /)
      const docx = yield* Effect.flip(read("docx", new TextEncoder().encode("plain words")))
      assert.match(docx.reason, /^not a readable DOCX file: /)
    })
  )

  it.effect("reads text, Markdown and HTML, and refuses a file with no text", () =>
    Effect.gen(function* () {
      const markdown = yield* read("markdown", new TextEncoder().encode("# Title\n\nBody text."))
      assert.deepStrictEqual(markdown, [
        { kind: "heading", level: 1, text: "Title" },
        { kind: "paragraph", text: "Body text." }
      ])
      const empty = yield* Effect.flip(
        read("html", new TextEncoder().encode("<h1>Only</h1><script>x</script>"))
      )
      assert.include(empty.reason, "no text")
    })
  )
})
