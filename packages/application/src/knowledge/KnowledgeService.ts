/**
 * Knowledge bases: an admin adds documents (a file, a URL, pasted text);
 * the indexing job reads, chunks and embeds each one; `retrieve` finds the
 * passages that answer a question, for the reply pipeline and the admin's
 * search box alike.
 *
 * Retrieval is hybrid: full-text (the base's language, ts_rank_cd) and, for
 * bases with an embedding model, the nearest vectors; the two lists are fused
 * by reciprocal rank, which needs no calibration between their scores.
 */
import { randomUUID } from "node:crypto"
import {
  DocumentTooLarge,
  type DocumentUnreadable,
  KnowledgeBase,
  KnowledgeBaseId,
  type KnowledgeBaseNameTaken,
  type KnowledgeBaseNotFound,
  KnowledgeDocument,
  KnowledgeDocumentId,
  type KnowledgeDocumentNotFound,
  KnowledgeModel,
  type ProviderId,
  type ProviderNotFound,
  UnknownKnowledgeBases,
  UnsupportedDocumentFormat
} from "@botfleet/domain"
import { Cause, Clock, Context, Effect, Layer, Schema } from "effect"
import {
  type ClaimedDocument,
  DocumentReader,
  type EmbeddingError,
  type EmbeddingSpent,
  Embeddings,
  KnowledgeRepository,
  KnowledgeSettings,
  type RankedChunk,
  type StoredChunk
} from "../ports/KnowledgeBases.ts"
import type { ModelEndpoint } from "../ports/LanguageModel.ts"
import { OutboundHttp, type OutboundRequestFailed, type UrlNotAllowed } from "../ports/Outbound.ts"
import { ProviderRepository } from "../ports/Providers.ts"
import { SecretBox } from "../ports/SecretBox.ts"

export interface KnowledgeBaseInput {
  readonly name: string
  readonly language?: KnowledgeModel.TextSearchLanguage | undefined
  readonly chunking?: KnowledgeModel.ChunkingSettings | undefined
  readonly embedding?: KnowledgeModel.EmbeddingSettings | undefined
}

export type KnowledgeBasePatch = {
  readonly [K in keyof KnowledgeBaseInput]?: KnowledgeBaseInput[K] | undefined
}

/** What an admin adds: a file's bytes, a URL to fetch once, or text. */
export type DocumentInput =
  | {
      readonly _tag: "file"
      readonly name: string
      readonly mediaType: string | null
      readonly content: Uint8Array
    }
  | { readonly _tag: "url"; readonly url: string; readonly name?: string | undefined }
  | {
      readonly _tag: "text"
      readonly name: string
      readonly text: string
      readonly format?: "text" | "markdown" | "html" | undefined
    }

export type AddDocumentError =
  | KnowledgeBaseNotFound
  | UnsupportedDocumentFormat
  | DocumentTooLarge
  | UrlNotAllowed
  | OutboundRequestFailed
  | DocumentFetchFailed

/** The URL answered, but not with a document (a 404, a redirect...). */
export class DocumentFetchFailed extends Schema.TaggedError<DocumentFetchFailed>()("DocumentFetchFailed", {
  reason: Schema.String
}) {
  override get message() {
    return this.reason
  }
}

export interface Passage {
  readonly knowledgeBaseId: KnowledgeBaseId
  readonly documentId: KnowledgeDocumentId
  readonly documentName: string
  readonly position: number
  readonly headingPath: ReadonlyArray<string>
  /** "Install › Linux": what a citation names. */
  readonly section: string
  readonly text: string
  /** The fused score (reciprocal rank fusion). */
  readonly score: number
  /** Rank (from 1) and score in each list that found it; null: that list did not. */
  readonly fullText: { readonly rank: number; readonly score: number } | null
  readonly vector: { readonly rank: number; readonly score: number } | null
}

export interface RetrieveOptions {
  /** Default 5. */
  readonly topK?: number | undefined
  /** Fused scores below this are dropped; default KnowledgeModel.DEFAULT_MIN_SCORE. */
  readonly minScore?: number | undefined
  /**
   * An embeddings server that fails leaves full text alone (logged) instead of
   * failing the retrieval: a reply would rather cite fewer passages than none.
   * The search box keeps the error, to show what is wrong.
   */
  readonly textOnlyOnEmbeddingError?: boolean | undefined
}

export interface KnowledgeBaseWithDocuments {
  readonly knowledgeBase: KnowledgeBase
  readonly documents: number
  readonly chunks: number
  /** Indexing's embeddings over all its documents (re-indexing included). */
  readonly embeddingTokens: number
  readonly embeddingCostUsd: number
}

/** The passages, and what embedding the question cost (nothing for full text alone). */
export interface Retrieved {
  readonly passages: ReadonlyArray<Passage>
  readonly spent: EmbeddingSpent
}

const NOTHING_SPENT: EmbeddingSpent = { tokens: 0, costUsd: 0 }

export interface DocumentWithChunks {
  readonly document: KnowledgeDocument
  readonly chunks: ReadonlyArray<StoredChunk>
}

/** Each list yields this many candidates for the fusion: enough for top-k after merging. */
const CANDIDATES_PER_LIST = 50
/** Texts per `/embeddings` request. */
export const EMBEDDING_BATCH = 64
/** A document is held this long per step; a process that dies frees it when it runs out. */
export const INDEXING_LEASE_SECONDS = 120
/** Attempts of a document whose failures pass with time (the embeddings server down) before it is failed. */
export const INDEXING_MAX_ATTEMPTS = 5

const formatName = (url: URL) => {
  const last = url.pathname
    .split("/")
    .filter((part) => part !== "")
    .at(-1)
  return last === undefined ? url.hostname : decodeURIComponent(last)
}

export class KnowledgeService extends Context.Service<
  KnowledgeService,
  {
    readonly createBase: (
      input: KnowledgeBaseInput
    ) => Effect.Effect<KnowledgeBaseWithDocuments, KnowledgeBaseNameTaken | ProviderNotFound>
    readonly updateBase: (
      id: KnowledgeBaseId,
      patch: KnowledgeBasePatch
    ) => Effect.Effect<
      KnowledgeBaseWithDocuments,
      KnowledgeBaseNotFound | KnowledgeBaseNameTaken | ProviderNotFound
    >
    readonly removeBase: (id: KnowledgeBaseId) => Effect.Effect<void, KnowledgeBaseNotFound>
    readonly getBase: (
      id: KnowledgeBaseId
    ) => Effect.Effect<KnowledgeBaseWithDocuments, KnowledgeBaseNotFound>
    readonly listBases: Effect.Effect<ReadonlyArray<KnowledgeBaseWithDocuments>>

    readonly addDocument: (
      base: KnowledgeBaseId,
      input: DocumentInput
    ) => Effect.Effect<KnowledgeDocument, AddDocumentError>
    readonly listDocuments: (
      base: KnowledgeBaseId
    ) => Effect.Effect<ReadonlyArray<KnowledgeDocument>, KnowledgeBaseNotFound>
    readonly getDocument: (
      base: KnowledgeBaseId,
      id: KnowledgeDocumentId
    ) => Effect.Effect<DocumentWithChunks, KnowledgeDocumentNotFound>
    /** Indexed again from its stored bytes (after a failure, or new chunking settings). */
    readonly reindexDocument: (
      base: KnowledgeBaseId,
      id: KnowledgeDocumentId
    ) => Effect.Effect<KnowledgeDocument, KnowledgeDocumentNotFound>
    readonly removeDocument: (
      base: KnowledgeBaseId,
      id: KnowledgeDocumentId
    ) => Effect.Effect<void, KnowledgeDocumentNotFound>

    /** Indexes waiting documents one at a time until none waits or `budgetMs` has passed; returns how many. */
    readonly indexPending: (budgetMs: number) => Effect.Effect<{ indexed: number; failed: number }>

    /** The passages of these bases that best answer the question, best first. */
    readonly retrieve: (
      knowledgeBaseIds: ReadonlyArray<KnowledgeBaseId>,
      question: string,
      options?: RetrieveOptions
    ) => Effect.Effect<ReadonlyArray<Passage>, EmbeddingError>
    /** The same, with what embedding the question cost: a reply counts it with its own tokens. */
    readonly retrieveCosted: (
      knowledgeBaseIds: ReadonlyArray<KnowledgeBaseId>,
      question: string,
      options?: RetrieveOptions
    ) => Effect.Effect<Retrieved, EmbeddingError>
    /** Of these ids, UnknownKnowledgeBases names the ones that do not exist. */
    readonly checkIds: (ids: ReadonlyArray<string>) => Effect.Effect<void, UnknownKnowledgeBases>
  }
>()("@botfleet/application/KnowledgeService") {
  static readonly layer = Layer.effect(
    KnowledgeService,
    Effect.gen(function* () {
      const repository = yield* KnowledgeRepository
      const reader = yield* DocumentReader
      const embeddings = yield* Embeddings
      const outbound = yield* OutboundHttp
      const providers = yield* ProviderRepository
      const secrets = yield* SecretBox
      const { maxDocumentBytes } = yield* KnowledgeSettings

      const now = Effect.map(Clock.currentTimeMillis, (millis) => new Date(millis))

      const withCounts = Effect.fn("KnowledgeService.withCounts")(function* (knowledgeBase: KnowledgeBase) {
        const documents = yield* repository.listDocuments(knowledgeBase.id)
        return {
          knowledgeBase,
          documents: documents.length,
          chunks: documents.reduce((sum, document) => sum + document.chunks, 0),
          embeddingTokens: documents.reduce((sum, document) => sum + document.embeddingTokens, 0),
          embeddingCostUsd: documents.reduce((sum, document) => sum + document.embeddingCostUsd, 0)
        }
      })

      /** The embeddings provider must exist when the base is saved, not first fail at indexing. */
      const checkProvider = (embedding: KnowledgeModel.EmbeddingSettings | undefined) =>
        embedding?.providerId == null ? Effect.void : Effect.asVoid(providers.findById(embedding.providerId))

      const createBase = Effect.fn("KnowledgeService.createBase")(function* (input: KnowledgeBaseInput) {
        yield* checkProvider(input.embedding)
        const at = yield* now
        const knowledgeBase = new KnowledgeBase({
          id: KnowledgeBaseId.make(randomUUID()),
          name: input.name.trim(),
          language: input.language ?? "simple",
          chunking: input.chunking ?? KnowledgeModel.DEFAULT_CHUNKING,
          embedding: input.embedding ?? KnowledgeModel.NO_EMBEDDINGS,
          createdAt: at,
          updatedAt: at
        })
        yield* repository.insertBase(knowledgeBase)
        yield* Effect.logInfo("knowledge base added", { knowledge_base_id: knowledgeBase.id })
        return { knowledgeBase, documents: 0, chunks: 0, embeddingTokens: 0, embeddingCostUsd: 0 }
      })

      const updateBase = Effect.fn("KnowledgeService.updateBase")(function* (
        id: KnowledgeBaseId,
        patch: KnowledgeBasePatch
      ) {
        const current = yield* repository.findBase(id)
        yield* checkProvider(patch.embedding)
        const next = new KnowledgeBase({
          ...current,
          name: patch.name?.trim() ?? current.name,
          language: patch.language ?? current.language,
          chunking: patch.chunking ?? current.chunking,
          embedding: patch.embedding ?? current.embedding,
          updatedAt: yield* now
        })
        yield* repository.updateBase(next)
        // Chunks made with other settings (or vectors of another model) would mix: index again.
        const changed =
          JSON.stringify([current.language, current.chunking, current.embedding]) !==
          JSON.stringify([next.language, next.chunking, next.embedding])
        if (changed) {
          const at = yield* now
          for (const document of yield* repository.listDocuments(id))
            yield* repository.requeueDocument(document.id, at).pipe(Effect.ignore)
        }
        return yield* withCounts(next)
      })

      const removeBase = Effect.fn("KnowledgeService.removeBase")(function* (id: KnowledgeBaseId) {
        yield* repository.deleteBase(id)
        yield* Effect.logInfo("knowledge base deleted", { knowledge_base_id: id })
      })

      const getBase = Effect.fn("KnowledgeService.getBase")(function* (id: KnowledgeBaseId) {
        return yield* withCounts(yield* repository.findBase(id))
      })

      const listBases = Effect.flatMap(repository.listBases, (all) => Effect.forEach(all, withCounts)).pipe(
        Effect.withSpan("KnowledgeService.listBases")
      )

      const tooLarge = (sizeBytes: number) =>
        new DocumentTooLarge({ sizeBytes, limitBytes: maxDocumentBytes })

      /** A URL's body, fetched once through the guard; its format from its content type or path. */
      const fetchUrl = Effect.fn("KnowledgeService.fetchUrl")(function* (address: string, name?: string) {
        const response = yield* outbound
          .request({ url: address, timeoutMs: 30_000, maxBytes: maxDocumentBytes })
          .pipe(
            Effect.catchTag(
              "OutboundRequestFailed",
              (error): Effect.Effect<never, DocumentTooLarge | OutboundRequestFailed> =>
                error.reason === "too_large"
                  ? Effect.fail(tooLarge(maxDocumentBytes + 1))
                  : Effect.fail(error)
            )
          )
        if (response.status < 200 || response.status >= 300)
          return yield* new DocumentFetchFailed({ reason: `the URL answered ${response.status}` })
        const url = new URL(address)
        const fileName = name ?? formatName(url)
        const mediaType = response.headers["content-type"] ?? null
        const format = KnowledgeModel.formatOf(mediaType, url.pathname)
        if (format === undefined)
          return yield* new UnsupportedDocumentFormat({ mediaType: mediaType ?? "", fileName })
        return { name: fileName, format, content: response.body }
      })

      const addDocument = Effect.fn("KnowledgeService.addDocument")(function* (
        baseId: KnowledgeBaseId,
        input: DocumentInput
      ) {
        yield* repository.findBase(baseId)
        const read =
          input._tag === "file"
            ? yield* Effect.gen(function* () {
                if (input.content.byteLength > maxDocumentBytes)
                  return yield* tooLarge(input.content.byteLength)
                const format = KnowledgeModel.formatOf(input.mediaType, input.name)
                if (format === undefined)
                  return yield* new UnsupportedDocumentFormat({
                    mediaType: input.mediaType ?? "",
                    fileName: input.name
                  })
                return { name: input.name, format, content: input.content }
              })
            : input._tag === "url"
              ? yield* fetchUrl(input.url, input.name)
              : yield* Effect.gen(function* () {
                  const content = new TextEncoder().encode(input.text)
                  if (content.byteLength > maxDocumentBytes) return yield* tooLarge(content.byteLength)
                  return { name: input.name, format: input.format ?? "text", content }
                })
        const at = yield* now
        const document = new KnowledgeDocument({
          id: KnowledgeDocumentId.make(randomUUID()),
          knowledgeBaseId: baseId,
          name: read.name.trim().slice(0, 200) || "untitled",
          source: input._tag === "file" ? "upload" : input._tag,
          format: read.format,
          url: input._tag === "url" ? input.url : null,
          sizeBytes: read.content.byteLength,
          state: "pending",
          error: null,
          attempts: 0,
          chunks: 0,
          embeddedChunks: 0,
          embeddingTokens: 0,
          createdAt: at,
          updatedAt: at,
          indexedAt: null
        })
        yield* repository.insertDocument(document, read.content)
        yield* Effect.logInfo("knowledge document added", {
          knowledge_base_id: baseId,
          document_id: document.id,
          format: document.format,
          size_bytes: document.sizeBytes
        })
        return document
      })

      const listDocuments = Effect.fn("KnowledgeService.listDocuments")(function* (id: KnowledgeBaseId) {
        yield* repository.findBase(id)
        return yield* repository.listDocuments(id)
      })

      /** A document of another base is as missing as one that does not exist. */
      const documentOf = Effect.fn("KnowledgeService.documentOf")(function* (
        base: KnowledgeBaseId,
        id: KnowledgeDocumentId
      ) {
        const document = yield* repository.findDocument(id)
        if (document.knowledgeBaseId !== base)
          return yield* Effect.fail(new KnowledgeModel.KnowledgeDocumentNotFound({ documentId: id }))
        return document
      })

      const getDocument = Effect.fn("KnowledgeService.getDocument")(function* (
        base: KnowledgeBaseId,
        id: KnowledgeDocumentId
      ) {
        const document = yield* documentOf(base, id)
        return { document, chunks: yield* repository.chunksOf(id) }
      })

      const reindexDocument = Effect.fn("KnowledgeService.reindexDocument")(function* (
        base: KnowledgeBaseId,
        id: KnowledgeDocumentId
      ) {
        yield* documentOf(base, id)
        yield* repository.requeueDocument(id, yield* now)
        return yield* repository.findDocument(id)
      })

      const removeDocument = Effect.fn("KnowledgeService.removeDocument")(function* (
        base: KnowledgeBaseId,
        id: KnowledgeDocumentId
      ) {
        yield* documentOf(base, id)
        yield* repository.deleteDocument(id)
      })

      /** The provider's server and key for a base's embeddings; undefined: the env default. */
      const endpointOf = Effect.fn("KnowledgeService.endpointOf")(function* (providerId: ProviderId | null) {
        if (providerId === null) return undefined
        const provider = yield* providers
          .findById(providerId)
          .pipe(
            Effect.mapError(
              () => new KnowledgeModel.DocumentUnreadable({ reason: `provider ${providerId} not found` })
            )
          )
        const apiKey = yield* secrets
          .decrypt(provider.apiKeyCiphertext)
          .pipe(Effect.mapError((error) => new KnowledgeModel.DocumentUnreadable({ reason: error.message })))
        return {
          providerId: provider.id,
          version: provider.updatedAt.getTime(),
          baseUrl: provider.baseUrl,
          apiKey,
          prices: provider.prices
        } satisfies ModelEndpoint
      })

      const leaseFrom = (at: Date) => new Date(at.getTime() + INDEXING_LEASE_SECONDS * 1000)

      /**
       * One document: read and chunk (skipped when a crashed run already stored its
       * chunks), then embed what is not embedded yet, a batch at a time, so a
       * crash resumes where it stopped.
       */
      const indexDocument = Effect.fn("KnowledgeService.indexDocument")(function* (claimed: ClaimedDocument) {
        const { document, knowledgeBase } = claimed
        const resuming = document.chunks > 0 && document.attempts > 1
        if (!resuming) {
          const blocks = yield* reader.read(document.format, claimed.content)
          const chunks = KnowledgeModel.chunkBlocks(blocks, knowledgeBase.chunking)
          yield* repository.replaceChunks(document.id, knowledgeBase.language, chunks, leaseFrom(yield* now))
        }
        const model = knowledgeBase.embedding.model
        if (model !== null) {
          const endpoint = yield* endpointOf(knowledgeBase.embedding.providerId)
          while (true) {
            const batch = yield* repository.chunksToEmbed(document.id, EMBEDDING_BATCH)
            if (batch.length === 0) break
            const result = yield* embeddings.embed({
              endpoint,
              model,
              dimensions: knowledgeBase.embedding.dimensions,
              inputs: batch.map((chunk) => chunk.text)
            })
            yield* repository.storeEmbeddings(
              document.id,
              batch.map((chunk, index) => ({
                position: chunk.position,
                vector: result.vectors[index] ?? []
              })),
              { tokens: result.inputTokens, costUsd: result.costUsd ?? 0 },
              leaseFrom(yield* now)
            )
          }
        }
        yield* repository.markIndexed(document.id, yield* now)
      })

      const indexOne = (claimed: ClaimedDocument) =>
        indexDocument(claimed).pipe(
          Effect.as("indexed" as const),
          Effect.catchTags({
            DocumentUnreadable: (error: DocumentUnreadable) =>
              Effect.as(
                Effect.flatMap(now, (at) => repository.markFailed(claimed.document.id, error.reason, at)),
                "failed" as const
              ),
            EmbeddingError: (error: EmbeddingError) =>
              Effect.flatMap(now, (at) =>
                error.retryable && claimed.document.attempts < INDEXING_MAX_ATTEMPTS
                  ? Effect.as(
                      repository.markRetry(
                        claimed.document.id,
                        error.description,
                        // 30 s, 60 s, 120 s... between attempts.
                        new Date(at.getTime() + 30_000 * 2 ** (claimed.document.attempts - 1))
                      ),
                      "retry" as const
                    )
                  : Effect.as(
                      repository.markFailed(claimed.document.id, error.description, at),
                      "failed" as const
                    )
              )
          }),
          // A defect (the database gone...) leaves the lease to run out: the document is resumed later.
          Effect.catchCause((cause) =>
            Effect.as(
              Effect.logWarning("indexing stopped", {
                document_id: claimed.document.id,
                error: Cause.pretty(cause)
              }),
              "retry" as const
            )
          ),
          Effect.tap((outcome) =>
            Effect.logInfo("knowledge document indexing", { document_id: claimed.document.id, outcome })
          )
        )

      const indexPending = Effect.fn("KnowledgeService.indexPending")(function* (budgetMs: number) {
        const started = yield* Clock.currentTimeMillis
        let indexed = 0
        let failed = 0
        while ((yield* Clock.currentTimeMillis) - started < budgetMs) {
          const claimed = yield* repository.claimDocument(yield* now, INDEXING_LEASE_SECONDS)
          if (claimed === undefined) break
          const outcome = yield* indexOne(claimed)
          if (outcome === "indexed") indexed++
          else if (outcome === "failed") failed++
          else break
        }
        return { indexed, failed }
      })

      const retrieveCosted = Effect.fn("KnowledgeService.retrieve")(function* (
        knowledgeBaseIds: ReadonlyArray<KnowledgeBaseId>,
        question: string,
        options?: RetrieveOptions
      ) {
        const topK = options?.topK ?? KnowledgeModel.DEFAULT_TOP_K
        const minScore = options?.minScore ?? KnowledgeModel.DEFAULT_MIN_SCORE
        if (question.trim() === "" || knowledgeBaseIds.length === 0)
          return { passages: [], spent: NOTHING_SPENT } satisfies Retrieved
        const bases = (yield* repository.listBases).filter((base) => knowledgeBaseIds.includes(base.id))
        // Full text per base, in each base's language; merged by score.
        const textSearch = Effect.forEach(
          bases,
          (base) => repository.searchText(base.id, base.language, question, CANDIDATES_PER_LIST),
          { concurrency: "unbounded" }
        )
        // Vectors per embedding model: the question is embedded once for each model in use.
        const byModel = new Map<string, Array<KnowledgeBase>>()
        for (const base of bases) {
          if (base.embedding.model === null) continue
          const key = JSON.stringify(base.embedding)
          byModel.set(key, [...(byModel.get(key) ?? []), base])
        }
        const vectorSearch = Effect.forEach(
          [...byModel.values()],
          Effect.fnUntraced(function* (group) {
            const settings = group[0]?.embedding ?? KnowledgeModel.NO_EMBEDDINGS
            const endpoint = yield* endpointOf(settings.providerId).pipe(
              Effect.orElseSucceed(() => undefined)
            )
            const embedded = yield* embeddings
              .embed({
                endpoint,
                model: settings.model ?? "",
                dimensions: settings.dimensions,
                inputs: [question]
              })
              .pipe(
                Effect.map((result): { vector: ReadonlyArray<number>; spent: EmbeddingSpent } | null => ({
                  vector: result.vectors[0] ?? [],
                  spent: { tokens: result.inputTokens, costUsd: result.costUsd ?? 0 }
                })),
                Effect.catchTag("EmbeddingError", (error) =>
                  options?.textOnlyOnEmbeddingError === true
                    ? Effect.as(
                        Effect.logWarning("question not embedded, full text only", {
                          knowledge_base_ids: group.map((base) => base.id),
                          reason: error.message
                        }),
                        null
                      )
                    : Effect.fail(error)
                )
              )
            if (embedded === null) return { found: [], spent: NOTHING_SPENT }
            const found = yield* repository.searchVector(
              group.map((base) => base.id),
              embedded.vector,
              CANDIDATES_PER_LIST
            )
            return { found, spent: embedded.spent }
          }),
          { concurrency: "unbounded" }
        )
        // The two lists at once, on two connections: a question waits for the slower, not the sum.
        const [textLists, vectorLists] = yield* Effect.all([textSearch, vectorSearch], { concurrency: 2 })
        const fullText = textLists
          .flat()
          .sort((a, b) => b.score - a.score)
          .slice(0, CANDIDATES_PER_LIST)
        const spent = vectorLists.reduce(
          (sum, list) => ({
            tokens: sum.tokens + list.spent.tokens,
            costUsd: sum.costUsd + list.spent.costUsd
          }),
          NOTHING_SPENT
        )
        const vector = vectorLists
          .flatMap((list) => list.found)
          .sort((a, b) => b.score - a.score)
          .slice(0, CANDIDATES_PER_LIST)
        const key = (ranked: RankedChunk) => `${ranked.chunk.documentId}:${ranked.chunk.position}`
        const rankIn = (list: ReadonlyArray<RankedChunk>) =>
          new Map(list.map((item, index) => [key(item), { rank: index + 1, score: item.score }]))
        const textRanks = rankIn(fullText)
        const vectorRanks = rankIn(vector)
        const passages = KnowledgeModel.reciprocalRankFusion([fullText, vector], key)
          .filter(({ score }) => score >= minScore)
          .slice(0, topK)
          .map(
            ({ item, score }): Passage => ({
              knowledgeBaseId: item.chunk.knowledgeBaseId,
              documentId: item.chunk.documentId,
              documentName: item.chunk.documentName,
              position: item.chunk.position,
              headingPath: item.chunk.headingPath,
              section: KnowledgeModel.sectionOf(item.chunk.headingPath),
              text: item.chunk.text,
              score,
              fullText: textRanks.get(key(item)) ?? null,
              vector: vectorRanks.get(key(item)) ?? null
            })
          )
        return { passages, spent } satisfies Retrieved
      })

      const retrieve = (
        knowledgeBaseIds: ReadonlyArray<KnowledgeBaseId>,
        question: string,
        options?: RetrieveOptions
      ) => Effect.map(retrieveCosted(knowledgeBaseIds, question, options), (retrieved) => retrieved.passages)

      const checkIds = Effect.fn("KnowledgeService.checkIds")(function* (ids: ReadonlyArray<string>) {
        const missing = yield* repository.missingBases(ids)
        if (missing.length > 0) return yield* new UnknownKnowledgeBases({ knowledgeBaseIds: missing })
      })

      return KnowledgeService.of({
        createBase,
        updateBase,
        removeBase,
        getBase,
        listBases,
        addDocument,
        listDocuments,
        getDocument,
        reindexDocument,
        removeDocument,
        indexPending,
        retrieve,
        retrieveCosted,
        checkIds
      })
    })
  )
}

/** The scheduler's job: every 5 s, index what waits for up to 4 minutes (a crashed run's documents too). */
export const knowledgeIndexingJob = Effect.gen(function* () {
  const knowledge = yield* KnowledgeService
  const run = Effect.map(
    knowledge.indexPending(240_000),
    ({ indexed, failed }) => `indexed ${indexed} documents, ${failed} failed`
  )
  return { name: "knowledge_indexing", everySeconds: 5, timeoutSeconds: 300, run }
})
