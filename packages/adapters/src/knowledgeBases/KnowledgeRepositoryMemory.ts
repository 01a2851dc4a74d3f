/**
 * The in-memory twin of KnowledgeRepositoryPg, for use-case tests: the same
 * queue rules (oldest waiting document, lease, attempts), and stand-ins for
 * the searches: full text ranks chunks by how many of the question's words
 * (lower-cased, no stemming) they contain; vectors by exact dot product.
 */
import {
  type ClaimedDocument,
  KnowledgeRepository,
  type RankedChunk,
  type StoredChunk
} from "@botfleet/application"
import {
  type Chunk,
  type KnowledgeBase,
  type KnowledgeBaseId,
  KnowledgeBaseNameTaken,
  KnowledgeBaseNotFound,
  KnowledgeDocument,
  type KnowledgeDocumentId,
  KnowledgeDocumentNotFound
} from "@botfleet/domain"
import { Effect, Layer } from "effect"
import { dot } from "./vectors.ts"

interface StoredDocument {
  document: KnowledgeDocument
  readonly content: Uint8Array
  leaseUntil: number | null
}

interface MemoryChunk extends StoredChunk {
  vector: ReadonlyArray<number> | null
}

const wordsOf = (text: string) => new Set(text.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? [])

export const make = Effect.sync(() => {
  const bases = new Map<KnowledgeBaseId, KnowledgeBase>()
  const documents = new Map<KnowledgeDocumentId, StoredDocument>()
  const chunks = new Map<KnowledgeDocumentId, Array<MemoryChunk>>()

  const update = (id: KnowledgeDocumentId, change: Partial<KnowledgeDocument>) => {
    const stored = documents.get(id)
    if (stored !== undefined) stored.document = new KnowledgeDocument({ ...stored.document, ...change })
    return stored
  }
  const documentOr = (id: KnowledgeDocumentId) => {
    const stored = documents.get(id)
    return stored === undefined
      ? Effect.fail(new KnowledgeDocumentNotFound({ documentId: id }))
      : Effect.succeed(stored)
  }
  const nameTaken = (base: KnowledgeBase) =>
    [...bases.values()].some(
      (other) => other.id !== base.id && other.name.toLowerCase() === base.name.toLowerCase()
    )

  return KnowledgeRepository.of({
    insertBase: (base) =>
      nameTaken(base)
        ? Effect.fail(new KnowledgeBaseNameTaken({ name: base.name }))
        : Effect.sync(() => void bases.set(base.id, base)),
    updateBase: (base) =>
      !bases.has(base.id)
        ? Effect.fail(new KnowledgeBaseNotFound({ knowledgeBaseId: base.id }))
        : nameTaken(base)
          ? Effect.fail(new KnowledgeBaseNameTaken({ name: base.name }))
          : Effect.sync(() => void bases.set(base.id, base)),
    findBase: (id) => {
      const base = bases.get(id)
      return base === undefined
        ? Effect.fail(new KnowledgeBaseNotFound({ knowledgeBaseId: id }))
        : Effect.succeed(base)
    },
    listBases: Effect.sync(() =>
      [...bases.values()].sort((a, b) => a.name.toLowerCase().localeCompare(b.name.toLowerCase()))
    ),
    deleteBase: (id) =>
      !bases.has(id)
        ? Effect.fail(new KnowledgeBaseNotFound({ knowledgeBaseId: id }))
        : Effect.sync(() => {
            bases.delete(id)
            for (const [documentId, stored] of documents) {
              if (stored.document.knowledgeBaseId !== id) continue
              documents.delete(documentId)
              chunks.delete(documentId)
            }
          }),
    insertDocument: (document, content) =>
      Effect.sync(() => void documents.set(document.id, { document, content, leaseUntil: null })),
    findDocument: (id) => Effect.map(documentOr(id), (stored) => stored.document),
    listDocuments: (id) =>
      Effect.sync(() =>
        [...documents.values()]
          .map((stored) => stored.document)
          .filter((document) => document.knowledgeBaseId === id)
          .sort((a, b) => b.createdAt.getTime() - a.createdAt.getTime())
      ),
    deleteDocument: (id) =>
      Effect.map(documentOr(id), () => {
        documents.delete(id)
        chunks.delete(id)
      }),
    requeueDocument: (id, at) =>
      Effect.map(documentOr(id), (stored) => {
        stored.leaseUntil = null
        update(id, {
          state: "pending",
          error: null,
          attempts: 0,
          chunks: 0,
          embeddedChunks: 0,
          updatedAt: at
        })
      }),
    chunksOf: (id) => Effect.sync(() => chunks.get(id) ?? []),
    claimDocument: (now, leaseSeconds) =>
      Effect.sync((): ClaimedDocument | undefined => {
        const next = [...documents.values()]
          .filter(
            (stored) =>
              (stored.document.state === "pending" || stored.document.state === "indexing") &&
              (stored.leaseUntil === null || stored.leaseUntil <= now.getTime())
          )
          .sort((a, b) => a.document.createdAt.getTime() - b.document.createdAt.getTime())[0]
        const base = next === undefined ? undefined : bases.get(next.document.knowledgeBaseId)
        if (next === undefined || base === undefined) return undefined
        next.leaseUntil = now.getTime() + leaseSeconds * 1000
        update(next.document.id, { state: "indexing", attempts: next.document.attempts + 1, updatedAt: now })
        return { document: next.document, knowledgeBase: base, content: next.content }
      }),
    replaceChunks: (document, _language, made: ReadonlyArray<Chunk>, leaseUntil) =>
      Effect.sync(() => {
        const stored = documents.get(document)
        if (stored === undefined) return
        stored.leaseUntil = leaseUntil.getTime()
        chunks.set(
          document,
          made.map((chunk) => ({
            ...chunk,
            documentId: document,
            documentName: stored.document.name,
            knowledgeBaseId: stored.document.knowledgeBaseId,
            vector: null
          }))
        )
        update(document, { chunks: made.length, embeddedChunks: 0, error: null })
      }),
    chunksToEmbed: (document, limit) =>
      Effect.sync(() =>
        (chunks.get(document) ?? [])
          .filter((chunk) => chunk.vector === null)
          .slice(0, limit)
          .map((chunk) => ({ position: chunk.position, text: chunk.text }))
      ),
    storeEmbeddings: (document, vectors, spent, leaseUntil) =>
      Effect.sync(() => {
        const stored = documents.get(document)
        const list = chunks.get(document) ?? []
        for (const { position, vector } of vectors) {
          const chunk = list.find((candidate) => candidate.position === position)
          if (chunk !== undefined) chunk.vector = vector
        }
        if (stored === undefined) return
        stored.leaseUntil = leaseUntil.getTime()
        update(document, {
          embeddedChunks: list.filter((chunk) => chunk.vector !== null).length,
          embeddingTokens: stored.document.embeddingTokens + spent.tokens,
          embeddingCostUsd: stored.document.embeddingCostUsd + spent.costUsd
        })
      }),
    markIndexed: (document, at) =>
      Effect.sync(() => {
        const stored = update(document, { state: "indexed", error: null, indexedAt: at, updatedAt: at })
        if (stored !== undefined) stored.leaseUntil = null
      }),
    markFailed: (document, error, at) =>
      Effect.sync(() => {
        const stored = update(document, { state: "failed", error, updatedAt: at })
        if (stored !== undefined) stored.leaseUntil = null
      }),
    markRetry: (document, error, retryAt) =>
      Effect.sync(() => {
        const stored = update(document, { state: "pending", error })
        if (stored !== undefined) stored.leaseUntil = retryAt.getTime()
      }),
    searchText: (base, _language, question, limit) =>
      Effect.sync(() => {
        const asked = wordsOf(question)
        const ranked: Array<RankedChunk> = []
        for (const list of chunks.values()) {
          for (const chunk of list) {
            if (chunk.knowledgeBaseId !== base) continue
            const words = wordsOf(`${chunk.headingPath.join(" ")} ${chunk.text}`)
            const score = [...asked].filter((word) => words.has(word)).length
            if (score > 0) ranked.push({ chunk, score })
          }
        }
        return ranked.sort((a, b) => b.score - a.score).slice(0, limit)
      }),
    searchVector: (baseIds, vector, limit) =>
      Effect.sync(() => {
        const ranked: Array<RankedChunk> = []
        for (const list of chunks.values()) {
          for (const chunk of list) {
            if (chunk.vector === null || !baseIds.includes(chunk.knowledgeBaseId)) continue
            ranked.push({ chunk, score: dot(chunk.vector, vector) })
          }
        }
        return ranked.sort((a, b) => b.score - a.score).slice(0, limit)
      }),
    missingBases: (ids) => Effect.sync(() => ids.filter((id) => !bases.has(id as KnowledgeBaseId)))
  })
})

export const layerMemory: Layer.Layer<KnowledgeRepository> = Layer.effect(KnowledgeRepository, make)
