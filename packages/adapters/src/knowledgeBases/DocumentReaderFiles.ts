/**
 * Files into structure. Text, Markdown and HTML are read by the domain's own
 * pure readers; PDF by `unpdf` (pdf.js built for servers, no native code, no
 * dependencies), page by page; DOCX by `mammoth`, which turns Word's styles
 * into HTML headings, paragraphs and lists, read like any HTML.
 */
import { DocumentReader } from "@botfleet/application"
import { type Block, type DocumentFormat, DocumentUnreadable, KnowledgeModel } from "@botfleet/domain"
import { Effect, Layer } from "effect"

const utf8 = (content: Uint8Array) => new TextDecoder("utf-8").decode(content)

/** What a library threw, in one line an admin can act on; never a stack. */
const reason = (format: string) => (error: unknown) =>
  new DocumentUnreadable({
    reason:
      `not a readable ${format} file: ${error instanceof Error ? error.message.split("\n")[0] : String(error)}`.slice(
        0,
        500
      )
  })

const readPdf = (content: Uint8Array) =>
  Effect.tryPromise({
    try: async () => {
      const { extractText, getDocumentProxy } = await import("unpdf")
      // pdf.js takes the buffer over; it gets its own copy.
      const pdf = await getDocumentProxy(new Uint8Array(content))
      const { text } = await extractText(pdf, { mergePages: false })
      await pdf.cleanup()
      return text.flatMap((page) => KnowledgeModel.blocksOfText(page))
    },
    catch: reason("PDF")
  })

const readDocx = (content: Uint8Array) =>
  Effect.tryPromise({
    try: async () => {
      const mammoth = await import("mammoth")
      const { value } = await mammoth.convertToHtml({ buffer: Buffer.from(content) })
      return KnowledgeModel.blocksOfHtml(value)
    },
    catch: reason("DOCX")
  })

export const read = Effect.fn("DocumentReader.read")(function* (format: DocumentFormat, content: Uint8Array) {
  const blocks: ReadonlyArray<Block> =
    format === "pdf"
      ? yield* readPdf(content)
      : format === "docx"
        ? yield* readDocx(content)
        : format === "html"
          ? KnowledgeModel.blocksOfHtml(utf8(content))
          : format === "markdown"
            ? KnowledgeModel.blocksOfMarkdown(utf8(content))
            : KnowledgeModel.blocksOfText(utf8(content))
  if (blocks.every((block) => block.kind === "heading"))
    return yield* new DocumentUnreadable({ reason: `the ${format} file has no text to index` })
  return blocks
})

export const layer: Layer.Layer<DocumentReader> = Layer.succeed(DocumentReader, DocumentReader.of({ read }))
