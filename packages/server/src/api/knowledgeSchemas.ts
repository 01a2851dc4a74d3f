/** Bodies and views of `/api/knowledge-bases`: bases, their documents, the search box. */
import { KnowledgeModel } from "@botfleet/domain"
import { Schema } from "effect"
import { InputString, IsoDate, Uuid } from "./schemas.ts"

const Name = InputString.check(Schema.isTrimmed(), Schema.isMinLength(1), Schema.isMaxLength(64))

const Embedding = Schema.Struct({
  /** null or absent: the env default provider (OPENAI_*). */
  providerId: Schema.optional(Schema.NullOr(Uuid)),
  /** null: full-text search only. */
  model: Schema.NullOr(InputString.check(Schema.isMinLength(1), Schema.isMaxLength(200))),
  dimensions: Schema.optional(
    Schema.NullOr(Schema.Int.check(Schema.isBetween({ minimum: 8, maximum: 4096 })))
  )
})

export const CreateKnowledgeBase = Schema.Struct({
  name: Name,
  /** A PostgreSQL text search configuration; default `simple` (no stemming, any language). */
  language: Schema.optional(KnowledgeModel.TextSearchLanguage),
  chunking: Schema.optional(KnowledgeModel.ChunkingSettings),
  embedding: Schema.optional(Embedding)
})

export const UpdateKnowledgeBase = Schema.Struct({
  name: Schema.optional(Name),
  language: Schema.optional(KnowledgeModel.TextSearchLanguage),
  chunking: Schema.optional(KnowledgeModel.ChunkingSettings),
  embedding: Schema.optional(Embedding)
})

export const KnowledgeBaseView = Schema.Struct({
  id: Schema.String,
  name: Schema.String,
  language: Schema.String,
  chunking: Schema.Struct({ maxChars: Schema.Number, overlapChars: Schema.Number }),
  embedding: Schema.Struct({
    providerId: Schema.NullOr(Schema.String),
    model: Schema.NullOr(Schema.String),
    dimensions: Schema.NullOr(Schema.Number)
  }),
  documents: Schema.Number,
  chunks: Schema.Number,
  /** Indexing's embeddings, all documents together (re-indexing included): tokens and USD. */
  embeddingTokens: Schema.Number,
  embeddingCostUsd: Schema.Number,
  createdAt: IsoDate,
  updatedAt: IsoDate
})
export type KnowledgeBaseView = typeof KnowledgeBaseView.Type

/** Pasted text (`text`, with `name`) or a URL fetched once (`url`); files go to `/documents/upload`. */
export const AddDocument = Schema.Struct({
  name: Schema.optional(InputString.check(Schema.isMinLength(1), Schema.isMaxLength(200))),
  text: Schema.optional(InputString.check(Schema.isMinLength(1))),
  /** How pasted text is read; default `text`. */
  format: Schema.optional(Schema.Literals(["text", "markdown", "html"])),
  url: Schema.optional(InputString.check(Schema.isMinLength(1), Schema.isMaxLength(2000)))
})

export const UploadQuery = {
  /** The file's name: its ending decides the format when the Content-Type says nothing. */
  name: InputString.check(Schema.isMinLength(1), Schema.isMaxLength(200))
}

export const DocumentView = Schema.Struct({
  id: Schema.String,
  knowledgeBaseId: Schema.String,
  name: Schema.String,
  source: Schema.String,
  format: Schema.String,
  url: Schema.NullOr(Schema.String),
  sizeBytes: Schema.Number,
  /** pending | indexing | indexed | failed */
  state: Schema.String,
  /** Why indexing failed (or why the last attempt did, while it is retried). */
  error: Schema.NullOr(Schema.String),
  attempts: Schema.Number,
  /** Chunks stored, and of them embedded. */
  chunks: Schema.Number,
  embeddedChunks: Schema.Number,
  embeddingTokens: Schema.Number,
  /** USD, by the price table (0 for a model without a price). */
  embeddingCostUsd: Schema.Number,
  createdAt: IsoDate,
  updatedAt: IsoDate,
  indexedAt: Schema.NullOr(IsoDate)
})
export type DocumentView = typeof DocumentView.Type

const ChunkView = Schema.Struct({
  position: Schema.Number,
  headingPath: Schema.Array(Schema.String),
  text: Schema.String
})

export const DocumentDetailView = Schema.Struct({ document: DocumentView, chunks: Schema.Array(ChunkView) })

export const SearchKnowledge = Schema.Struct({
  question: InputString.check(Schema.isMinLength(1), Schema.isMaxLength(2000)),
  topK: Schema.optional(Schema.Int.check(Schema.isBetween({ minimum: 1, maximum: 50 }))),
  minScore: Schema.optional(Schema.Number.check(Schema.isGreaterThanOrEqualTo(0)))
})

const RankView = Schema.NullOr(Schema.Struct({ rank: Schema.Number, score: Schema.Number }))

export const SearchResultView = Schema.Struct({
  passages: Schema.Array(
    Schema.Struct({
      documentId: Schema.String,
      documentName: Schema.String,
      position: Schema.Number,
      section: Schema.String,
      headingPath: Schema.Array(Schema.String),
      text: Schema.String,
      /** Reciprocal rank fusion of the two lists below. */
      score: Schema.Number,
      fullText: RankView,
      vector: RankView
    })
  )
})
