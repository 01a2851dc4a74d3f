/**
 * Knowledge bases: an admin's documents, cut into chunks that keep where they
 * came from (document, position, heading path), so a bot can be given the
 * passages that answer a question and cite them.
 */
import { Schema } from "effect"
import { ProviderId } from "./ids.ts"
import { en } from "./texts/en.ts"

export const KnowledgeBaseId = Schema.String.check(Schema.isUUID()).pipe(Schema.brand("KnowledgeBaseId"))
export type KnowledgeBaseId = typeof KnowledgeBaseId.Type

export const KnowledgeDocumentId = Schema.String.check(Schema.isUUID()).pipe(
  Schema.brand("KnowledgeDocumentId")
)
export type KnowledgeDocumentId = typeof KnowledgeDocumentId.Type

/**
 * PostgreSQL's built-in text search configurations: the language decides
 * stemming and stop words; `simple` does neither (any language, exact words).
 */
export const TEXT_SEARCH_LANGUAGES = [
  "simple",
  "arabic",
  "armenian",
  "basque",
  "catalan",
  "danish",
  "dutch",
  "english",
  "finnish",
  "french",
  "german",
  "greek",
  "hindi",
  "hungarian",
  "indonesian",
  "irish",
  "italian",
  "lithuanian",
  "nepali",
  "norwegian",
  "portuguese",
  "romanian",
  "russian",
  "serbian",
  "spanish",
  "swedish",
  "tamil",
  "turkish",
  "yiddish"
] as const
export const TextSearchLanguage = Schema.Literals(TEXT_SEARCH_LANGUAGES)
export type TextSearchLanguage = typeof TextSearchLanguage.Type

export const ChunkingSettings = Schema.Struct({
  /** A chunk's longest text; a longer paragraph is cut at sentence or word boundaries. */
  maxChars: Schema.Int.check(Schema.isBetween({ minimum: 200, maximum: 8000 })),
  /** Text of the previous chunk repeated at the start of the next, so a passage cut in two is found whole. */
  overlapChars: Schema.Int.check(Schema.isBetween({ minimum: 0, maximum: 2000 }))
})
export type ChunkingSettings = typeof ChunkingSettings.Type

export const DEFAULT_CHUNKING: ChunkingSettings = { maxChars: 1200, overlapChars: 150 }

/** Which model turns chunks into vectors; null model: full-text search only. */
export const EmbeddingSettings = Schema.Struct({
  /** null: the env default provider (OPENAI_BASE_URL, OPENAI_API_KEY). */
  providerId: Schema.NullOr(ProviderId),
  model: Schema.NullOr(Schema.String),
  /** Reduced dimensions for models that allow it (text-embedding-3-*); null: the model's own. */
  dimensions: Schema.NullOr(Schema.Int.check(Schema.isBetween({ minimum: 8, maximum: 4096 })))
})
export type EmbeddingSettings = typeof EmbeddingSettings.Type

export const NO_EMBEDDINGS: EmbeddingSettings = { providerId: null, model: null, dimensions: null }

export class KnowledgeBase extends Schema.Class<KnowledgeBase>("KnowledgeBase")({
  id: KnowledgeBaseId,
  name: Schema.String,
  language: TextSearchLanguage,
  chunking: ChunkingSettings,
  embedding: EmbeddingSettings,
  createdAt: Schema.Date,
  updatedAt: Schema.Date
}) {}

export const KNOWLEDGE_BASE_NAME_MAX = 64

export const DocumentSource = Schema.Literals(["upload", "url", "text"])
export type DocumentSource = typeof DocumentSource.Type

/** The formats read; anything else is refused before it is stored. */
export const DocumentFormat = Schema.Literals(["text", "markdown", "html", "pdf", "docx"])
export type DocumentFormat = typeof DocumentFormat.Type

/**
 * pending: waiting for the indexing job; indexing: chunks being stored and
 * embedded (a crash leaves it here until its lease runs out, then it resumes);
 * indexed: searchable; failed: `error` says why, re-indexing tries again.
 */
export const DocumentState = Schema.Literals(["pending", "indexing", "indexed", "failed"])
export type DocumentState = typeof DocumentState.Type

export class KnowledgeDocument extends Schema.Class<KnowledgeDocument>("KnowledgeDocument")({
  id: KnowledgeDocumentId,
  knowledgeBaseId: KnowledgeBaseId,
  name: Schema.String,
  source: DocumentSource,
  format: DocumentFormat,
  /** Where a `url` document was fetched from. */
  url: Schema.NullOr(Schema.String),
  sizeBytes: Schema.Int,
  state: DocumentState,
  error: Schema.NullOr(Schema.String),
  attempts: Schema.Int,
  /** Chunks stored and, of them, embedded: the indexing progress. */
  chunks: Schema.Int,
  embeddedChunks: Schema.Int,
  /** Input tokens the embeddings server counted for this document, re-indexing included. */
  embeddingTokens: Schema.Int,
  createdAt: Schema.Date,
  updatedAt: Schema.Date,
  indexedAt: Schema.NullOr(Schema.Date)
}) {}

/** The media types and file name endings each format is recognised by. */
const FORMAT_BY_MEDIA_TYPE: Readonly<Record<string, DocumentFormat>> = {
  "text/plain": "text",
  "text/markdown": "markdown",
  "text/x-markdown": "markdown",
  "text/html": "html",
  "application/xhtml+xml": "html",
  "application/pdf": "pdf",
  "application/vnd.openxmlformats-officedocument.wordprocessingml.document": "docx"
}

const FORMAT_BY_EXTENSION: Readonly<Record<string, DocumentFormat>> = {
  txt: "text",
  text: "text",
  md: "markdown",
  markdown: "markdown",
  htm: "html",
  html: "html",
  pdf: "pdf",
  docx: "docx"
}

/**
 * The format of a file from its media type, else its name's ending;
 * undefined: not one we read. `application/octet-stream` says nothing, so the
 * name decides.
 */
export const formatOf = (
  mediaType: string | null | undefined,
  fileName: string
): DocumentFormat | undefined => {
  const type = (mediaType ?? "").split(";")[0]?.trim().toLowerCase() ?? ""
  const byType = FORMAT_BY_MEDIA_TYPE[type]
  if (byType !== undefined) return byType
  if (type !== "" && type !== "application/octet-stream") return undefined
  const extension = /\.([a-z0-9]+)$/i.exec(fileName)?.[1]?.toLowerCase()
  return extension === undefined ? undefined : FORMAT_BY_EXTENSION[extension]
}

// ---------------------------------------------------------------------------
// Structure and chunking: pure.

/** A document read into its structure: what the chunker cuts along. */
export type Block =
  | { readonly kind: "heading"; readonly level: number; readonly text: string }
  | { readonly kind: "paragraph"; readonly text: string }
  | { readonly kind: "listItem"; readonly text: string }

export interface Chunk {
  /** 0, 1, 2... in reading order within the document. */
  readonly position: number
  /** The headings above the chunk, outermost first: a citation's section. */
  readonly headingPath: ReadonlyArray<string>
  readonly text: string
}

const collapse = (text: string) => text.replace(/[ \t\f\v\u00a0]+/g, " ").trim()

/** Plain text: blank lines part paragraphs; lines starting with a bullet or a number are list items. */
export const blocksOfText = (text: string): ReadonlyArray<Block> => {
  const blocks: Array<Block> = []
  for (const part of text.replace(/\r\n?/g, "\n").split(/\n\s*\n/)) {
    const lines = part.split("\n")
    if (lines.every((line) => LIST_ITEM.test(line) || line.trim() === "")) {
      for (const line of lines) {
        const item = collapse(line.replace(LIST_ITEM, ""))
        if (item !== "") blocks.push({ kind: "listItem", text: item })
      }
      continue
    }
    const paragraph = collapse(lines.join(" "))
    if (paragraph !== "") blocks.push({ kind: "paragraph", text: paragraph })
  }
  return blocks
}

const LIST_ITEM = /^\s*(?:[-*+•]|\d{1,3}[.)])\s+/
const ATX_HEADING = /^\s{0,3}(#{1,6})\s+(.*?)\s*#*\s*$/
const FENCE = /^\s{0,3}(```|~~~)/

/** Markdown: ATX and setext headings, list items, paragraphs; a fenced code block stays one paragraph. */
export const blocksOfMarkdown = (markdown: string): ReadonlyArray<Block> => {
  const blocks: Array<Block> = []
  const lines = markdown.replace(/\r\n?/g, "\n").split("\n")
  let paragraph: Array<string> = []
  let item: Array<string> | null = null
  const flush = () => {
    const text = collapse(paragraph.join(" "))
    if (text !== "") blocks.push({ kind: "paragraph", text })
    paragraph = []
    if (item !== null) {
      const itemText = collapse(item.join(" "))
      if (itemText !== "") blocks.push({ kind: "listItem", text: itemText })
      item = null
    }
  }
  for (let index = 0; index < lines.length; index++) {
    const line = lines[index] ?? ""
    if (FENCE.test(line)) {
      flush()
      const code: Array<string> = []
      for (index++; index < lines.length && !FENCE.test(lines[index] ?? ""); index++)
        code.push(lines[index] ?? "")
      const text = code.join("\n").trim()
      if (text !== "") blocks.push({ kind: "paragraph", text })
      continue
    }
    const heading = ATX_HEADING.exec(line)
    if (heading !== null) {
      flush()
      blocks.push({ kind: "heading", level: heading[1]?.length ?? 1, text: collapse(heading[2] ?? "") })
      continue
    }
    const next = lines[index + 1] ?? ""
    if (paragraph.length === 0 && item === null && line.trim() !== "" && /^\s{0,3}(=+|-+)\s*$/.test(next)) {
      flush()
      blocks.push({ kind: "heading", level: next.trim().startsWith("=") ? 1 : 2, text: collapse(line) })
      index++
      continue
    }
    if (line.trim() === "") {
      flush()
      continue
    }
    if (LIST_ITEM.test(line)) {
      flush()
      item = [line.replace(LIST_ITEM, "")]
      continue
    }
    if (item !== null) item.push(line)
    else paragraph.push(line)
  }
  flush()
  return blocks.map((block) =>
    block.kind === "heading" ? block : { ...block, text: stripInline(block.text) }
  )
}

/** Emphasis and link syntax say nothing a search needs; the link's words stay. */
const stripInline = (text: string) =>
  text
    .replace(/!\[([^\]]*)\]\([^)]*\)/g, "$1")
    .replace(/\[([^\]]*)\]\([^)]*\)/g, "$1")
    .replace(/(\*\*|__)(.+?)\1/g, "$2")
    .replace(/`([^`]+)`/g, "$1")

const ENTITIES: Readonly<Record<string, string>> = {
  amp: "&",
  lt: "<",
  gt: ">",
  quot: '"',
  apos: "'",
  nbsp: " "
}

const decodeEntities = (text: string) =>
  text.replace(/&(#x[0-9a-f]+|#\d+|[a-z]+);/gi, (whole, name: string) => {
    if (name.startsWith("#x") || name.startsWith("#X"))
      return safeCodePoint(Number.parseInt(name.slice(2), 16), whole)
    if (name.startsWith("#")) return safeCodePoint(Number.parseInt(name.slice(1), 10), whole)
    return ENTITIES[name.toLowerCase()] ?? whole
  })

const safeCodePoint = (code: number, fallback: string) =>
  Number.isInteger(code) && code > 0 && code <= 0x10ffff ? String.fromCodePoint(code) : fallback

const BLOCK_TAGS = new Set([
  "p",
  "div",
  "section",
  "article",
  "main",
  "blockquote",
  "pre",
  "td",
  "th",
  "dd",
  "dt",
  "br",
  "tr",
  "table",
  "ul",
  "ol",
  "body",
  "header",
  "footer",
  "figure",
  "figcaption"
])

/**
 * HTML (and DOCX, which is read as HTML): h1–h6, li, and the text between
 * block tags. Scripts, styles and navigation are not content. A tokenizer,
 * not a browser: enough for documents, never executed.
 */
export const blocksOfHtml = (html: string): ReadonlyArray<Block> => {
  const blocks: Array<Block> = []
  const cleaned = html
    .replace(/<!--[\s\S]*?-->/g, " ")
    .replace(/<(script|style|noscript|template|nav|head|svg)\b[\s\S]*?<\/\1\s*>/gi, " ")
  let text = ""
  let current: { kind: "heading"; level: number } | { kind: "listItem" } | { kind: "paragraph" } = {
    kind: "paragraph"
  }
  const flush = () => {
    const value = collapse(decodeEntities(text).replace(/\s+/g, " "))
    text = ""
    if (value === "") return
    if (current.kind === "heading") blocks.push({ kind: "heading", level: current.level, text: value })
    else blocks.push({ kind: current.kind, text: value })
  }
  const tag = /<\/?([a-zA-Z][a-zA-Z0-9]*)\b[^>]*>/g
  let last = 0
  for (let match = tag.exec(cleaned); match !== null; match = tag.exec(cleaned)) {
    text += cleaned.slice(last, match.index)
    last = match.index + match[0].length
    const name = (match[1] ?? "").toLowerCase()
    const closing = match[0].startsWith("</")
    const heading = /^h([1-6])$/.exec(name)
    if (heading !== null) {
      flush()
      current = closing ? { kind: "paragraph" } : { kind: "heading", level: Number(heading[1]) }
    } else if (name === "li") {
      flush()
      current = closing ? { kind: "paragraph" } : { kind: "listItem" }
    } else if (BLOCK_TAGS.has(name)) {
      flush()
      if (current.kind !== "listItem") current = { kind: "paragraph" }
    }
  }
  text += cleaned.slice(last)
  flush()
  return blocks
}

/** Cuts a text longer than `max` at the last sentence end, else the last space, before it. */
const splitLong = (text: string, max: number): ReadonlyArray<string> => {
  const parts: Array<string> = []
  let rest = text
  while (rest.length > max) {
    const window = rest.slice(0, max)
    const sentence = Math.max(window.lastIndexOf(". "), window.lastIndexOf("! "), window.lastIndexOf("? "))
    const space = window.lastIndexOf(" ")
    const cut = sentence > max / 2 ? sentence + 1 : space > max / 2 ? space : max
    parts.push(rest.slice(0, cut).trim())
    rest = rest.slice(cut).trim()
  }
  if (rest !== "") parts.push(rest)
  return parts
}

/** The end of `text`, at most `chars` long, starting at a word. */
const tailOf = (text: string, chars: number) => {
  if (chars <= 0 || text.length === 0) return ""
  if (text.length <= chars) return text
  const tail = text.slice(-chars)
  const space = tail.indexOf(" ")
  return space === -1 ? tail : tail.slice(space + 1)
}

/**
 * Blocks into chunks: a chunk never spans two sections (a heading starts a
 * new one), paragraphs and list items are packed whole up to `maxChars`, a
 * longer one is cut at sentences; each chunk after the first of a section
 * begins with the last `overlapChars` of the one before.
 */
export const chunkBlocks = (
  blocks: ReadonlyArray<Block>,
  settings: ChunkingSettings
): ReadonlyArray<Chunk> => {
  const chunks: Array<Chunk> = []
  const path: Array<{ level: number; text: string }> = []
  let pieces: Array<string> = []
  let length = 0
  let previous = ""
  const headingPath = () => path.map((heading) => heading.text)
  const emit = () => {
    if (pieces.length === 0) return
    const text = pieces.join("\n")
    chunks.push({ position: chunks.length, headingPath: headingPath(), text })
    previous = text
    pieces = []
    length = 0
  }
  const add = (piece: string) => {
    if (length > 0 && length + 1 + piece.length > settings.maxChars) {
      emit()
      const overlap = tailOf(previous, Math.min(settings.overlapChars, settings.maxChars - piece.length - 1))
      if (overlap !== "") {
        pieces.push(overlap)
        length = overlap.length
      }
    }
    pieces.push(piece)
    length += (length > 0 ? 1 : 0) + piece.length
  }
  for (const block of blocks) {
    if (block.kind === "heading") {
      emit()
      previous = ""
      while (path.length > 0 && (path[path.length - 1]?.level ?? 0) >= block.level) path.pop()
      path.push({ level: block.level, text: block.text })
      continue
    }
    const text = block.kind === "listItem" ? `- ${block.text}` : block.text
    // Room for the overlap, so a cut paragraph's pieces plus overlap still fit.
    for (const piece of splitLong(text, Math.max(100, settings.maxChars - settings.overlapChars - 1)))
      add(piece)
  }
  emit()
  return chunks
}

/** A section as a citation shows it: "Install › Linux". */
export const sectionOf = (headingPath: ReadonlyArray<string>) => headingPath.join(" › ")

// ---------------------------------------------------------------------------
// Retrieval: pure fusion of ranked lists.

/** The constant of reciprocal rank fusion (Cormack et al.): damps the weight of the very top ranks. */
export const RRF_K = 60

/**
 * Reciprocal rank fusion: each list gives an item 1 / (k + rank), rank from 1;
 * the sums are sorted, best first. Ties keep the order of first appearance.
 */
export const reciprocalRankFusion = <A>(
  lists: ReadonlyArray<ReadonlyArray<A>>,
  key: (item: A) => string,
  k: number = RRF_K
): ReadonlyArray<{ readonly item: A; readonly score: number }> => {
  const scores = new Map<string, { item: A; score: number; first: number }>()
  let seen = 0
  for (const list of lists) {
    list.forEach((item, index) => {
      const id = key(item)
      const entry = scores.get(id) ?? { item, score: 0, first: seen++ }
      entry.score += 1 / (k + index + 1)
      scores.set(id, entry)
    })
  }
  return [...scores.values()]
    .sort((a, b) => b.score - a.score || a.first - b.first)
    .map(({ item, score }) => ({ item, score }))
}

export const DEFAULT_TOP_K = 5
/**
 * The fused score of an item ranked first by one list only is 1/61 ≈ 0.0164;
 * below 1/(60+20) an item was found late by a single list, and is dropped by default.
 */
export const DEFAULT_MIN_SCORE = 1 / (RRF_K + 20)

// ---------------------------------------------------------------------------
// Use in the turn: what the model is told about the passages found.

/** What a bot set to answer only from its knowledge bases says when nothing was found. */
export const KNOWLEDGE_UNKNOWN_REPLY: string = en["knowledge.unknown"]

/** One passage as the model reads it, numbered from 1 in the order given. */
export interface SourcePassage {
  readonly documentName: string
  readonly section: string
  readonly text: string
}

/** "Manual, Installation", or the document's name alone for text before any heading. */
export const sourceLabel = (passage: SourcePassage) =>
  passage.section === "" ? passage.documentName : `${passage.documentName}, ${passage.section}`

/**
 * The system message carrying the passages. Replies go to Telegram as plain
 * text, so the model is asked for plain citations ("[1] Manual, Installation")
 * rather than Markdown links or footnotes that would show as raw characters.
 */
export const knowledgePrompt = (passages: ReadonlyArray<SourcePassage>, knowledgeOnly: boolean): string => {
  const rule = knowledgeOnly
    ? `Answer only from the sources below. If they do not contain the answer, say that you do not know; do not use other knowledge.`
    : `Use the sources below where they help answer the question.`
  const sources = passages.map(
    (passage, index) => `[${index + 1}] ${sourceLabel(passage)}\n${passage.text.trim()}`
  )
  return [
    rule,
    `Cite the sources you use in plain text, by number, document and section, like "[1] Manual, Installation". Do not use Markdown.`,
    "",
    "Sources:",
    "",
    sources.join("\n\n")
  ].join("\n")
}

// ---------------------------------------------------------------------------
// Errors.

export class KnowledgeBaseNotFound extends Schema.TaggedError<KnowledgeBaseNotFound>()(
  "KnowledgeBaseNotFound",
  { knowledgeBaseId: Schema.String },
  { httpApiStatus: 404 }
) {
  override get message() {
    return `knowledge base ${this.knowledgeBaseId} not found`
  }
}

export class KnowledgeDocumentNotFound extends Schema.TaggedError<KnowledgeDocumentNotFound>()(
  "KnowledgeDocumentNotFound",
  { documentId: Schema.String },
  { httpApiStatus: 404 }
) {
  override get message() {
    return `document ${this.documentId} not found`
  }
}

export class KnowledgeBaseNameTaken extends Schema.TaggedError<KnowledgeBaseNameTaken>()(
  "KnowledgeBaseNameTaken",
  { name: Schema.String },
  { httpApiStatus: 409 }
) {
  override get message() {
    return `a knowledge base named "${this.name}" already exists`
  }
}

/** Refused before anything is stored: not a format we read. */
export class UnsupportedDocumentFormat extends Schema.TaggedError<UnsupportedDocumentFormat>()(
  "UnsupportedDocumentFormat",
  { mediaType: Schema.String, fileName: Schema.String },
  { httpApiStatus: 415 }
) {
  override get message() {
    return `${this.fileName} (${this.mediaType || "no media type"}) is not a format we read: plain text, Markdown, HTML, PDF or DOCX`
  }
}

export class DocumentTooLarge extends Schema.TaggedError<DocumentTooLarge>()(
  "DocumentTooLarge",
  { sizeBytes: Schema.Number, limitBytes: Schema.Number },
  { httpApiStatus: 413 }
) {
  override get message() {
    return `the document is larger than the ${Math.round(this.limitBytes / 1048576)} MB limit (KNOWLEDGE_MAX_DOCUMENT_MB)`
  }
}

/** A stored document that could not be read (a malformed PDF...): its indexing fails with this reason. */
export class DocumentUnreadable extends Schema.TaggedError<DocumentUnreadable>()("DocumentUnreadable", {
  reason: Schema.String
}) {
  override get message() {
    return this.reason
  }
}

/** A bot names a knowledge base that does not exist. */
export class UnknownKnowledgeBases extends Schema.TaggedError<UnknownKnowledgeBases>()(
  "UnknownKnowledgeBases",
  { knowledgeBaseIds: Schema.Array(Schema.String) },
  { httpApiStatus: 422 }
) {
  override get message() {
    return `knowledgeBaseIds: no knowledge base ${this.knowledgeBaseIds.join(", ")}`
  }
}
