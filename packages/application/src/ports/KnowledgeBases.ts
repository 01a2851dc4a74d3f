/**
 * Knowledge bases: their storage (bases, documents, chunks; the documents
 * table is also the indexing queue), reading a file into its structure, and
 * turning texts into embeddings.
 */
import type {
  Block,
  Chunk,
  DocumentFormat,
  DocumentUnreadable,
  KnowledgeBase,
  KnowledgeBaseId,
  KnowledgeBaseNameTaken,
  KnowledgeBaseNotFound,
  KnowledgeDocument,
  KnowledgeDocumentId,
  KnowledgeDocumentNotFound,
  TextSearchLanguage
} from "@botfleet/domain"
import { Context, type Effect, Schema } from "effect"
import type { ModelEndpoint } from "./LanguageModel.ts"

/** A document and its original bytes, as the indexing job takes it. */
export interface ClaimedDocument {
  readonly document: KnowledgeDocument
  readonly knowledgeBase: KnowledgeBase
  readonly content: Uint8Array
}

/** A stored chunk, as search returns it. */
export interface StoredChunk extends Chunk {
  readonly documentId: KnowledgeDocumentId
  readonly documentName: string
  readonly knowledgeBaseId: KnowledgeBaseId
}

export interface RankedChunk {
  readonly chunk: StoredChunk
  /** The list's own score: ts_rank_cd for full text, the dot product (cosine) for embeddings. */
  readonly score: number
}

export class KnowledgeRepository extends Context.Service<
  KnowledgeRepository,
  {
    readonly insertBase: (base: KnowledgeBase) => Effect.Effect<void, KnowledgeBaseNameTaken>
    readonly updateBase: (
      base: KnowledgeBase
    ) => Effect.Effect<void, KnowledgeBaseNotFound | KnowledgeBaseNameTaken>
    readonly findBase: (id: KnowledgeBaseId) => Effect.Effect<KnowledgeBase, KnowledgeBaseNotFound>
    /** Ordered by name (case-insensitive). */
    readonly listBases: Effect.Effect<ReadonlyArray<KnowledgeBase>>
    /** Its documents and chunks go with it. */
    readonly deleteBase: (id: KnowledgeBaseId) => Effect.Effect<void, KnowledgeBaseNotFound>

    readonly insertDocument: (document: KnowledgeDocument, content: Uint8Array) => Effect.Effect<void>
    readonly findDocument: (
      id: KnowledgeDocumentId
    ) => Effect.Effect<KnowledgeDocument, KnowledgeDocumentNotFound>
    /** Newest first. */
    readonly listDocuments: (id: KnowledgeBaseId) => Effect.Effect<ReadonlyArray<KnowledgeDocument>>
    /** Its chunks go with it. */
    readonly deleteDocument: (id: KnowledgeDocumentId) => Effect.Effect<void, KnowledgeDocumentNotFound>
    /** Back to pending, error and attempts cleared: indexed again by the next job run. */
    readonly requeueDocument: (
      id: KnowledgeDocumentId,
      at: Date
    ) => Effect.Effect<void, KnowledgeDocumentNotFound>
    /** A document's chunks in order (reading one back). */
    readonly chunksOf: (id: KnowledgeDocumentId) => Effect.Effect<ReadonlyArray<StoredChunk>>

    /**
     * Takes the oldest document waiting (pending, or indexing with its lease
     * run out: a process died on it) for `leaseSeconds`, counting an attempt;
     * none: nothing waits. One caller gets a document across every process.
     */
    readonly claimDocument: (now: Date, leaseSeconds: number) => Effect.Effect<ClaimedDocument | undefined>
    /** Replaces the document's chunks (full-text indexed at once, not yet embedded). */
    readonly replaceChunks: (
      document: KnowledgeDocumentId,
      language: TextSearchLanguage,
      chunks: ReadonlyArray<Chunk>,
      leaseUntil: Date
    ) => Effect.Effect<void>
    /** Positions and texts of the document's chunks without an embedding, in order, at most `limit`. */
    readonly chunksToEmbed: (
      document: KnowledgeDocumentId,
      limit: number
    ) => Effect.Effect<ReadonlyArray<{ readonly position: number; readonly text: string }>>
    /** Stores unit-length vectors and counts them in the progress; extends the lease. */
    readonly storeEmbeddings: (
      document: KnowledgeDocumentId,
      vectors: ReadonlyArray<{ readonly position: number; readonly vector: ReadonlyArray<number> }>,
      spent: EmbeddingSpent,
      leaseUntil: Date
    ) => Effect.Effect<void>
    readonly markIndexed: (document: KnowledgeDocumentId, at: Date) => Effect.Effect<void>
    /** Failed for good (until re-indexed by hand): `error` says why. */
    readonly markFailed: (document: KnowledgeDocumentId, error: string, at: Date) => Effect.Effect<void>
    /** Failed this time: pending again, tried after `retryAt`. */
    readonly markRetry: (document: KnowledgeDocumentId, error: string, retryAt: Date) => Effect.Effect<void>

    /** Full-text search of one base in its language, best first. */
    readonly searchText: (
      base: KnowledgeBaseId,
      language: TextSearchLanguage,
      question: string,
      limit: number
    ) => Effect.Effect<ReadonlyArray<RankedChunk>>
    /** Nearest chunks by dot product to a unit-length vector, best first. */
    readonly searchVector: (
      bases: ReadonlyArray<KnowledgeBaseId>,
      vector: ReadonlyArray<number>,
      limit: number
    ) => Effect.Effect<ReadonlyArray<RankedChunk>>
    /** Of these ids, the ones no knowledge base has. */
    readonly missingBases: (ids: ReadonlyArray<string>) => Effect.Effect<ReadonlyArray<string>>
  }
>()("@botfleet/application/KnowledgeRepository") {}

/** Reads a stored file into headings, paragraphs and list items. */
export class DocumentReader extends Context.Service<
  DocumentReader,
  {
    readonly read: (
      format: DocumentFormat,
      content: Uint8Array
    ) => Effect.Effect<ReadonlyArray<Block>, DocumentUnreadable>
  }
>()("@botfleet/application/DocumentReader") {}

/** The embeddings server refused or failed; `retryable` when trying later may help. */
export class EmbeddingError extends Schema.TaggedError<EmbeddingError>()("EmbeddingError", {
  description: Schema.String,
  retryable: Schema.Boolean
}) {
  override get message() {
    return this.description
  }
}

export interface EmbeddingRequest {
  /** undefined: the env default provider. */
  readonly endpoint?: ModelEndpoint | undefined
  readonly model: string
  readonly dimensions: number | null
  readonly inputs: ReadonlyArray<string>
}

export interface EmbeddingResult {
  /** One per input, in order. */
  readonly vectors: ReadonlyArray<ReadonlyArray<number>>
  readonly inputTokens: number
  /** Priced by the price table (and the provider's prices); absent or 0: a model without a price. */
  readonly costUsd?: number | undefined
}

/** What embedding texts cost: the tokens the server counted and their price. */
export interface EmbeddingSpent {
  readonly tokens: number
  readonly costUsd: number
}

/** An OpenAI-compatible `POST /embeddings`. */
export class Embeddings extends Context.Service<
  Embeddings,
  { readonly embed: (request: EmbeddingRequest) => Effect.Effect<EmbeddingResult, EmbeddingError> }
>()("@botfleet/application/Embeddings") {}

/** KNOWLEDGE_MAX_DOCUMENT_MB, in bytes: the largest upload, URL body or pasted text. */
export class KnowledgeSettings extends Context.Service<
  KnowledgeSettings,
  { readonly maxDocumentBytes: number }
>()("@botfleet/application/KnowledgeSettings") {}
