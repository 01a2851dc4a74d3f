/**
 * Knowledge bases in PostgreSQL: `knowledge_bases`, `knowledge_documents`
 * (also the indexing queue, claimed with SKIP LOCKED and a lease) and
 * `knowledge_chunks` (a GIN-indexed tsvector and, when embedded, a real[]
 * vector with its sign bits).
 *
 * Vectors with pgvector (pgvector.ts): each base's HNSW index, built when its
 * first vectors are stored (or at start-up for vectors stored before).
 *
 * Vectors without pgvector, or for a base whose index is not built yet: each
 * base's vectors (and chunks) are held in this process (vectorCache.ts) and
 * scanned exactly.
 * Measured at 20,000 chunks of 256 dimensions (docs/knowledge.md#benchmark),
 * both at the same moment on a loaded machine: 27 / 55 ms (p50 / p99) against
 * the SQL scan's 63 / 142 ms, with twice its recall (the scan is exact).
 *
 * A base larger than the cache's cap falls back to the SQL scan: a
 * Hamming-distance scan over the sign bits (`bit_count(bits # query)`) picks
 * candidates and the exact dot product, computed here, ranks them. Measured:
 * the exact dot product of every row in SQL (`unnest`) took 1,470 ms, the
 * Hamming scan 18 ms (quiet machine), re-ranking its 200 nearest here from
 * float32 bytes under 1 ms (reading them as real[] text cost ~10 ms).
 */

import type {
  EmbeddingSpent,
  KnowledgeRepository as Port,
  RankedChunk,
  StoredChunk
} from "@botfleet/application"
import { KnowledgeRepository } from "@botfleet/application"
import {
  type KnowledgeBaseId,
  KnowledgeBaseNameTaken,
  KnowledgeBaseNotFound,
  type KnowledgeDocumentId,
  KnowledgeDocumentNotFound,
  KnowledgeModel
} from "@botfleet/domain"
import { Effect, Layer, Schema } from "effect"
import { SqlClient, type SqlError } from "effect/sql"
import { uniqueConstraintOf } from "../postgres/uniqueViolation.ts"
import * as Pgvector from "./pgvector.ts"
import { makeVectorCache } from "./vectorCache.ts"
import { dot, float32Hex, fromFloat32, signBits, vectorLiteral } from "./vectors.ts"

/** Sign-bit neighbours re-ranked exactly: more costs little (a row each), fewer loses recall. */
const VECTOR_CANDIDATES = 200

interface BaseRow {
  readonly id: string
  readonly name: string
  readonly language: string
  readonly chunk_max_chars: number
  readonly chunk_overlap_chars: number
  readonly embedding_provider_id: string | null
  readonly embedding_model: string | null
  readonly embedding_dimensions: number | null
  readonly created_at: Date
  readonly updated_at: Date
}

interface DocumentRow {
  readonly id: string
  readonly knowledge_base_id: string
  readonly name: string
  readonly source: string
  readonly format: string
  readonly url: string | null
  readonly size_bytes: number
  readonly state: string
  readonly error: string | null
  readonly attempts: number
  readonly chunks: number
  readonly embedded_chunks: number
  readonly embedding_tokens: string | number
  readonly embedding_cost_usd: string | number
  readonly created_at: Date
  readonly updated_at: Date
  readonly indexed_at: Date | null
}

interface ChunkRow {
  readonly document_id: string
  readonly position: number
  readonly knowledge_base_id: string
  readonly heading_path: unknown
  readonly content: string
  readonly document_name: string
  readonly score?: number | string
}

const decodeBase = Schema.decodeUnknownEffect(KnowledgeModel.KnowledgeBase)
const decodeDocument = Schema.decodeUnknownEffect(KnowledgeModel.KnowledgeDocument)

/** A row the schema rejects is a defect: the database holds what we wrote. */
const baseOf = (row: BaseRow) =>
  decodeBase({
    id: row.id,
    name: row.name,
    language: row.language,
    chunking: { maxChars: row.chunk_max_chars, overlapChars: row.chunk_overlap_chars },
    embedding: {
      providerId: row.embedding_provider_id,
      model: row.embedding_model,
      dimensions: row.embedding_dimensions
    },
    createdAt: row.created_at,
    updatedAt: row.updated_at
  }).pipe(Effect.orDie)

const documentOf = (row: DocumentRow) =>
  decodeDocument({
    id: row.id,
    knowledgeBaseId: row.knowledge_base_id,
    name: row.name,
    source: row.source,
    format: row.format,
    url: row.url,
    sizeBytes: row.size_bytes,
    state: row.state,
    error: row.error,
    attempts: row.attempts,
    chunks: row.chunks,
    embeddedChunks: row.embedded_chunks,
    embeddingTokens: Number(row.embedding_tokens),
    embeddingCostUsd: Number(row.embedding_cost_usd),
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    indexedAt: row.indexed_at
  }).pipe(Effect.orDie)

const chunkOf = (row: ChunkRow): StoredChunk => ({
  documentId: row.document_id as KnowledgeDocumentId,
  documentName: row.document_name,
  knowledgeBaseId: row.knowledge_base_id as KnowledgeBaseId,
  position: row.position,
  headingPath: (typeof row.heading_path === "string"
    ? JSON.parse(row.heading_path)
    : row.heading_path) as Array<string>,
  text: row.content
})

const ranked = (rows: ReadonlyArray<ChunkRow>): ReadonlyArray<RankedChunk> =>
  rows.map((row) => ({ chunk: chunkOf(row), score: Number(row.score ?? 0) }))

const baseColumns = (base: KnowledgeModel.KnowledgeBase) => ({
  id: base.id,
  name: base.name,
  language: base.language,
  chunk_max_chars: base.chunking.maxChars,
  chunk_overlap_chars: base.chunking.overlapChars,
  embedding_provider_id: base.embedding.providerId,
  embedding_model: base.embedding.model,
  embedding_dimensions: base.embedding.dimensions,
  created_at: base.createdAt,
  updated_at: base.updatedAt
})

/** Columns of a document without its content (which only indexing reads). */
const DOCUMENT_COLUMNS = `id, knowledge_base_id, name, source, format, url, size_bytes, state, error, attempts,
  chunks, embedded_chunks, embedding_tokens, embedding_cost_usd, created_at, updated_at, indexed_at`

/** KNOWLEDGE_VECTOR_CACHE_MB's default: 256 MB holds about 240,000 chunks of 256 dimensions. */
export const DEFAULT_VECTOR_CACHE_BYTES = 256 * 1024 * 1024

export interface Options {
  /** The most the in-process vectors may take together; 0: always the SQL scan. */
  readonly vectorCacheBytes: number
  /** Use pgvector's HNSW index where the server has the extension (default true). */
  readonly pgvector?: boolean | undefined
}

/** Which vector path a repository on this database would take, in the start-up line's words (the benchmark labels its rows with it). */
export const vectorPath = (enabled = true) =>
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    return Pgvector.describePath(yield* Pgvector.detect(sql, enabled))
  })

/** How often a search that meets a base without its index looks again (another process may have built it). */
const INDEX_RECHECK_MS = 10_000

const make = (options: Options) =>
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const documentColumns = sql.unsafe(DOCUMENT_COLUMNS)
    const cache = yield* makeVectorCache(sql, options.vectorCacheBytes, chunkOf)

    // Said once at start-up: which vector search runs.
    const path = yield* Pgvector.detect(sql, options.pgvector ?? true)
    const hnsw = path.kind === "hnsw"
    yield* Effect.logInfo(`knowledge vectors: ${Pgvector.describePath(path)}`).pipe(
      Effect.annotateLogs({ vector_cache_mb: Math.round(options.vectorCacheBytes / 1024 / 1024) })
    )

    // The bases (and dimensions) whose HNSW index exists: searched through it, the rest scanned.
    let indexed = hnsw ? yield* Pgvector.existingIndexes(sql) : new Set<string>()
    let checkedAt = Date.now()

    const buildIndex = (base: string, dimensions: number) =>
      Effect.gen(function* () {
        if (!Pgvector.indexable(base, dimensions) || indexed.has(Pgvector.key(base, dimensions))) return
        const started = performance.now()
        yield* Pgvector.ensureIndex(sql, base, dimensions)
        indexed.add(Pgvector.key(base, dimensions))
        yield* Effect.logInfo("knowledge vectors: HNSW index ready", {
          knowledge_base_id: base,
          dimensions,
          build_ms: Math.round(performance.now() - started)
        })
      }).pipe(
        // Not fatal: the base stays on the scan, and its next stored vectors try again.
        Effect.catchCause((cause) =>
          Effect.logWarning("knowledge vectors: HNSW index not built, scanning this base", {
            knowledge_base_id: base,
            dimensions,
            cause
          })
        )
      )

    // Vectors stored before pgvector was there (an install moved to the pgvector image) get
    // their index in the background; searches scan until it is ready.
    if (hnsw) {
      yield* Pgvector.vectorGroups(sql).pipe(
        Effect.flatMap((groups) =>
          Effect.forEach(groups, (group) => buildIndex(group.base, group.dimensions), { discard: true })
        ),
        Effect.catchCause((cause) => Effect.logWarning("knowledge vectors: backfill stopped", { cause })),
        Effect.forkScoped
      )
    }

    const nameTaken =
      (base: KnowledgeModel.KnowledgeBase) =>
      (error: SqlError.SqlError): Effect.Effect<never, KnowledgeBaseNameTaken> =>
        uniqueConstraintOf(error) === "knowledge_bases_name_key"
          ? Effect.fail(new KnowledgeBaseNameTaken({ name: base.name }))
          : Effect.die(error)

    const insertBase = Effect.fn("KnowledgeRepository.insertBase")(function* (
      base: KnowledgeModel.KnowledgeBase
    ) {
      yield* sql`INSERT INTO knowledge_bases ${sql.insert(baseColumns(base))}`.pipe(
        Effect.catchTag("SqlError", nameTaken(base))
      )
    })

    const updateBase = Effect.fn("KnowledgeRepository.updateBase")(function* (
      base: KnowledgeModel.KnowledgeBase
    ) {
      const rows = yield* sql<{ id: string }>`
        UPDATE knowledge_bases SET ${sql.update(baseColumns(base), ["id"])} WHERE id = ${base.id} RETURNING id`.pipe(
        Effect.catchTag("SqlError", nameTaken(base))
      )
      if (rows.length === 0) return yield* new KnowledgeBaseNotFound({ knowledgeBaseId: base.id })
    })

    const findBase = Effect.fn("KnowledgeRepository.findBase")(function* (id: KnowledgeBaseId) {
      const rows = yield* sql<BaseRow>`SELECT * FROM knowledge_bases WHERE id = ${id}`.pipe(Effect.orDie)
      const row = rows[0]
      if (row === undefined) return yield* new KnowledgeBaseNotFound({ knowledgeBaseId: id })
      return yield* baseOf(row)
    })

    const listBases = sql<BaseRow>`SELECT * FROM knowledge_bases ORDER BY lower(name) COLLATE "C", id`.pipe(
      Effect.orDie,
      Effect.flatMap((rows) => Effect.forEach(rows, baseOf)),
      Effect.withSpan("KnowledgeRepository.listBases")
    )

    const deleteBase = Effect.fn("KnowledgeRepository.deleteBase")(function* (id: KnowledgeBaseId) {
      const rows = yield* sql<{
        id: string
      }>`DELETE FROM knowledge_bases WHERE id = ${id} RETURNING id`.pipe(Effect.orDie)
      // Chunks carry the base id without a foreign key (the hot search path joins no base row).
      yield* sql`DELETE FROM knowledge_chunks WHERE knowledge_base_id = ${id}`.pipe(Effect.orDie)
      if (hnsw) {
        yield* Pgvector.dropIndexes(sql, id).pipe(Effect.orDie)
        for (const known of [...indexed]) if (known.startsWith(`${id.toLowerCase()}:`)) indexed.delete(known)
      }
      // Bots stop answering from it rather than keep an id that names nothing.
      yield* sql`
        UPDATE bots SET knowledge_base_ids = knowledge_base_ids - ${id}::text
        WHERE knowledge_base_ids ? ${id}::text`.pipe(Effect.orDie)
      if (rows.length === 0) return yield* new KnowledgeBaseNotFound({ knowledgeBaseId: id })
    })

    const insertDocument = Effect.fn("KnowledgeRepository.insertDocument")(function* (
      document: KnowledgeModel.KnowledgeDocument,
      content: Uint8Array
    ) {
      yield* sql`INSERT INTO knowledge_documents ${sql.insert({
        id: document.id,
        knowledge_base_id: document.knowledgeBaseId,
        name: document.name,
        source: document.source,
        format: document.format,
        url: document.url,
        content,
        size_bytes: document.sizeBytes,
        state: document.state,
        error: document.error,
        attempts: document.attempts,
        created_at: document.createdAt,
        updated_at: document.updatedAt
      })}`.pipe(Effect.orDie)
    })

    const findDocument = Effect.fn("KnowledgeRepository.findDocument")(function* (id: KnowledgeDocumentId) {
      const rows =
        yield* sql<DocumentRow>`SELECT ${documentColumns} FROM knowledge_documents WHERE id = ${id}`.pipe(
          Effect.orDie
        )
      const row = rows[0]
      if (row === undefined) return yield* new KnowledgeDocumentNotFound({ documentId: id })
      return yield* documentOf(row)
    })

    const listDocuments = Effect.fn("KnowledgeRepository.listDocuments")(function* (id: KnowledgeBaseId) {
      const rows = yield* sql<DocumentRow>`
        SELECT ${documentColumns} FROM knowledge_documents WHERE knowledge_base_id = ${id}
        ORDER BY created_at DESC, id`.pipe(Effect.orDie)
      return yield* Effect.forEach(rows, documentOf)
    })

    const deleteDocument = Effect.fn("KnowledgeRepository.deleteDocument")(function* (
      id: KnowledgeDocumentId
    ) {
      const rows = yield* sql<{
        id: string
      }>`DELETE FROM knowledge_documents WHERE id = ${id} RETURNING id`.pipe(Effect.orDie)
      if (rows.length === 0) return yield* new KnowledgeDocumentNotFound({ documentId: id })
    })

    const requeueDocument = Effect.fn("KnowledgeRepository.requeueDocument")(function* (
      id: KnowledgeDocumentId,
      at: Date
    ) {
      const rows = yield* sql<{ id: string }>`
        UPDATE knowledge_documents
        SET state = 'pending', error = NULL, attempts = 0, lease_until = NULL, chunks = 0, embedded_chunks = 0,
          updated_at = ${at}
        WHERE id = ${id} RETURNING id`.pipe(Effect.orDie)
      if (rows.length === 0) return yield* new KnowledgeDocumentNotFound({ documentId: id })
    })

    const chunksOf = Effect.fn("KnowledgeRepository.chunksOf")(function* (id: KnowledgeDocumentId) {
      const rows = yield* sql<ChunkRow>`
        SELECT c.document_id, c.position, c.knowledge_base_id, c.heading_path, c.content, d.name AS document_name
        FROM knowledge_chunks c JOIN knowledge_documents d ON d.id = c.document_id
        WHERE c.document_id = ${id} ORDER BY c.position`.pipe(Effect.orDie)
      return rows.map(chunkOf)
    })

    const claimDocument = Effect.fn("KnowledgeRepository.claimDocument")(function* (
      now: Date,
      leaseSeconds: number
    ) {
      const leaseUntil = new Date(now.getTime() + leaseSeconds * 1000)
      const rows = yield* sql<DocumentRow & { content: Uint8Array }>`
        WITH next AS (
          SELECT id FROM knowledge_documents
          WHERE state IN ('pending', 'indexing') AND (lease_until IS NULL OR lease_until <= ${now})
          ORDER BY created_at, id
          LIMIT 1
          FOR UPDATE SKIP LOCKED
        )
        UPDATE knowledge_documents d
        SET state = 'indexing', attempts = d.attempts + 1, lease_until = ${leaseUntil}, updated_at = ${now}
        FROM next WHERE d.id = next.id
        RETURNING d.*`.pipe(Effect.orDie)
      const row = rows[0]
      if (row === undefined) return undefined
      const document = yield* documentOf(row)
      const knowledgeBase = yield* findBase(document.knowledgeBaseId).pipe(Effect.orDie)
      return { document, knowledgeBase, content: row.content }
    })

    const replaceChunks = Effect.fn("KnowledgeRepository.replaceChunks")(function* (
      document: KnowledgeDocumentId,
      language: KnowledgeModel.TextSearchLanguage,
      chunks: ReadonlyArray<KnowledgeModel.Chunk>,
      leaseUntil: Date
    ) {
      const json = JSON.stringify(
        chunks.map((chunk) => ({
          position: chunk.position,
          heading_path: chunk.headingPath,
          content: chunk.text
        }))
      )
      yield* sql
        .withTransaction(
          Effect.gen(function* () {
            yield* sql`DELETE FROM knowledge_chunks WHERE document_id = ${document}`
            // Headings weigh more than body text: a question naming a section finds it.
            yield* sql`
              INSERT INTO knowledge_chunks (document_id, position, knowledge_base_id, heading_path, content, tsv)
              SELECT d.id, x.position, d.knowledge_base_id, x.heading_path, x.content,
                setweight(to_tsvector(${language}::regconfig,
                  coalesce((SELECT string_agg(h, ' ') FROM jsonb_array_elements_text(x.heading_path) h), '')), 'A')
                || to_tsvector(${language}::regconfig, x.content)
              FROM knowledge_documents d,
                jsonb_to_recordset(${json}::jsonb) AS x(position integer, heading_path jsonb, content text)
              WHERE d.id = ${document}`
            yield* sql`
              UPDATE knowledge_documents
              SET chunks = ${chunks.length}, embedded_chunks = 0, error = NULL, lease_until = ${leaseUntil}
              WHERE id = ${document}`
          })
        )
        .pipe(Effect.orDie)
    })

    const chunksToEmbed = Effect.fn("KnowledgeRepository.chunksToEmbed")(function* (
      document: KnowledgeDocumentId,
      limit: number
    ) {
      const rows = yield* sql<{ position: number; content: string; heading_path: unknown }>`
        SELECT position, content, heading_path FROM knowledge_chunks
        WHERE document_id = ${document} AND embedding IS NULL
        ORDER BY position LIMIT ${limit}`.pipe(Effect.orDie)
      return rows.map((row) => ({ position: row.position, text: row.content }))
    })

    const storeEmbeddings = Effect.fn("KnowledgeRepository.storeEmbeddings")(function* (
      document: KnowledgeDocumentId,
      vectors: ReadonlyArray<{ readonly position: number; readonly vector: ReadonlyArray<number> }>,
      spent: EmbeddingSpent,
      leaseUntil: Date
    ) {
      const json = JSON.stringify(
        vectors.map(({ position, vector }) => ({
          position,
          embedding: vectorLiteral(vector),
          bits: signBits(vector),
          f32: float32Hex(vector)
        }))
      )
      const base = yield* sql
        .withTransaction(
          Effect.gen(function* () {
            yield* sql`
              UPDATE knowledge_chunks c
              SET embedding = x.embedding::real[], embedding_bits = x.bits::bit varying,
                embedding_f32 = decode(x.f32, 'hex')
              FROM jsonb_to_recordset(${json}::jsonb) AS x(position integer, embedding text, bits text, f32 text)
              WHERE c.document_id = ${document} AND c.position = x.position`
            return yield* sql<{ knowledge_base_id: string }>`
              UPDATE knowledge_documents
              SET embedded_chunks = (SELECT count(*) FROM knowledge_chunks
                                     WHERE document_id = ${document} AND embedding IS NOT NULL),
                  embedding_tokens = embedding_tokens + ${spent.tokens},
                  embedding_cost_usd = embedding_cost_usd + ${spent.costUsd},
                  lease_until = ${leaseUntil}
              WHERE id = ${document}
              RETURNING knowledge_base_id`
          })
        )
        .pipe(Effect.orDie)
      // A base's first vectors of this length: its index, built while it is small.
      const dimensions = vectors[0]?.vector.length ?? 0
      const row = base[0]
      if (hnsw && row !== undefined && dimensions > 0) yield* buildIndex(row.knowledge_base_id, dimensions)
    })

    const markIndexed = Effect.fn("KnowledgeRepository.markIndexed")(function* (
      document: KnowledgeDocumentId,
      at: Date
    ) {
      yield* sql`
        UPDATE knowledge_documents
        SET state = 'indexed', error = NULL, lease_until = NULL, indexed_at = ${at}, updated_at = ${at}
        WHERE id = ${document}`.pipe(Effect.orDie)
    })

    const markFailed = Effect.fn("KnowledgeRepository.markFailed")(function* (
      document: KnowledgeDocumentId,
      error: string,
      at: Date
    ) {
      yield* sql`
        UPDATE knowledge_documents SET state = 'failed', error = ${error}, lease_until = NULL, updated_at = ${at}
        WHERE id = ${document}`.pipe(Effect.orDie)
    })

    const markRetry = Effect.fn("KnowledgeRepository.markRetry")(function* (
      document: KnowledgeDocumentId,
      error: string,
      retryAt: Date
    ) {
      yield* sql`
        UPDATE knowledge_documents SET state = 'pending', error = ${error}, lease_until = ${retryAt}
        WHERE id = ${document}`.pipe(Effect.orDie)
    })

    const searchText = Effect.fn("KnowledgeRepository.searchText")(function* (
      base: KnowledgeBaseId,
      language: KnowledgeModel.TextSearchLanguage,
      question: string,
      limit: number
    ) {
      // websearch_to_tsquery ANDs every word, so a question phrased unlike the text finds
      // nothing; its ANDs become ORs (quoted phrases keep their meaning; a query with an
      // exclusion stays as written, since "a | !b" would match almost everything) and
      // ts_rank_cd puts the chunks that cover more of the words, closer together, first.
      // A stable expression, not a CTE, so the GIN index serves the match.
      const query = sql`(SELECT CASE WHEN strpos(w::text, '!') > 0 THEN w
          ELSE replace(w::text, ' & ', ' | ')::tsquery END
        FROM websearch_to_tsquery(${language}::regconfig, ${question}) AS w)`
      const rows = yield* sql<ChunkRow>`
        SELECT c.document_id, c.position, c.knowledge_base_id, c.heading_path, c.content,
          d.name AS document_name, ts_rank_cd(c.tsv, ${query}) AS score
        FROM knowledge_chunks c JOIN knowledge_documents d ON d.id = c.document_id
        WHERE c.knowledge_base_id = ${base} AND c.tsv @@ ${query}
        ORDER BY score DESC, c.document_id, c.position
        LIMIT ${limit}`.pipe(Effect.orDie)
      return ranked(rows)
    })

    /** The SQL scan: sign-bit neighbours, re-ranked exactly here. */
    const scanInSql = Effect.fn("KnowledgeRepository.scanInSql")(function* (
      bases: ReadonlyArray<string>,
      vector: ReadonlyArray<number>,
      limit: number
    ) {
      if (bases.length === 0) return []
      const candidates = Math.max(limit * 3, VECTOR_CANDIDATES)
      const rows = yield* sql<ChunkRow & { embedding: Uint8Array }>`
        WITH near AS (
          SELECT c.document_id, c.position
          FROM knowledge_chunks c
          WHERE c.knowledge_base_id = ANY(${`{${bases.join(",")}}`}::uuid[])
            AND c.embedding_bits IS NOT NULL AND length(c.embedding_bits) = ${vector.length}
          ORDER BY bit_count(c.embedding_bits # ${signBits(vector)}::bit varying)
          LIMIT ${candidates}
        )
        SELECT c.document_id, c.position, c.knowledge_base_id, c.heading_path, c.content, d.name AS document_name,
          c.embedding_f32 AS embedding
        FROM near JOIN knowledge_chunks c USING (document_id, position)
          JOIN knowledge_documents d ON d.id = c.document_id`.pipe(Effect.orDie)
      return rows.map((row) => ({ chunk: chunkOf(row), score: dot(fromFloat32(row.embedding), vector) }))
    })

    /** Bases whose index exists (searched through it) and the rest (scanned). */
    const splitByIndex = Effect.fn("KnowledgeRepository.splitByIndex")(function* (
      bases: ReadonlyArray<KnowledgeBaseId>,
      dimensions: number
    ) {
      if (!hnsw) return { viaIndex: [], scanned: bases }
      const missing = () => bases.filter((base) => !indexed.has(Pgvector.key(base, dimensions)))
      if (missing().length > 0 && Date.now() - checkedAt > INDEX_RECHECK_MS) {
        checkedAt = Date.now()
        indexed = yield* Pgvector.existingIndexes(sql)
      }
      const scanned = missing()
      return { viaIndex: bases.filter((base) => !scanned.includes(base)), scanned }
    })

    /** Each base through its HNSW index, in one transaction that sets how wide the walk is. */
    const searchIndexes = Effect.fn("KnowledgeRepository.searchIndexes")(function* (
      bases: ReadonlyArray<KnowledgeBaseId>,
      vector: ReadonlyArray<number>,
      limit: number
    ) {
      if (bases.length === 0) return []
      const rows = yield* sql
        .withTransaction(
          Effect.gen(function* () {
            yield* Pgvector.setEfSearch(sql, limit)
            return yield* Effect.forEach(bases, (base) =>
              Pgvector.nearestStatement<ChunkRow>(sql, base, vector, limit)
            )
          })
        )
        .pipe(Effect.orDie)
      return ranked(rows.flat())
    })

    const searchVector = Effect.fn("KnowledgeRepository.searchVector")(function* (
      bases: ReadonlyArray<KnowledgeBaseId>,
      vector: ReadonlyArray<number>,
      limit: number
    ) {
      if (bases.length === 0 || vector.length === 0) return []
      const { viaIndex, scanned: toScan } = yield* splitByIndex(bases, vector.length)
      const fromIndex = yield* searchIndexes(viaIndex, vector, limit)
      const { hits, uncached } =
        options.vectorCacheBytes > 0 && toScan.length > 0
          ? yield* cache.scan(toScan, vector, limit)
          : { hits: [], uncached: toScan }
      const scanned = yield* scanInSql(uncached, vector, limit)
      return [...fromIndex, ...hits.map((hit) => ({ chunk: hit.item, score: hit.score })), ...scanned]
        .sort((a, b) => b.score - a.score || (a.chunk.documentId < b.chunk.documentId ? -1 : 1))
        .slice(0, limit)
    })

    const missingBases = Effect.fn("KnowledgeRepository.missingBases")(function* (
      ids: ReadonlyArray<string>
    ) {
      if (ids.length === 0) return []
      const rows = yield* sql<{ id: string }>`
        SELECT x.id FROM unnest(${`{${ids.join(",")}}`}::text[]) AS x(id)
        WHERE NOT EXISTS (SELECT 1 FROM knowledge_bases k WHERE k.id::text = x.id)`.pipe(Effect.orDie)
      return rows.map((row) => row.id)
    })

    return KnowledgeRepository.of({
      insertBase,
      updateBase,
      findBase,
      listBases,
      deleteBase,
      insertDocument,
      findDocument,
      listDocuments,
      deleteDocument,
      requeueDocument,
      chunksOf,
      claimDocument,
      replaceChunks,
      chunksToEmbed,
      storeEmbeddings,
      markIndexed,
      markFailed,
      markRetry,
      searchText,
      searchVector,
      missingBases
    } satisfies typeof Port.Service)
  })

export const layerWith = (options: Options): Layer.Layer<KnowledgeRepository, never, SqlClient.SqlClient> =>
  Layer.effect(KnowledgeRepository, make(options))

export const layer: Layer.Layer<KnowledgeRepository, never, SqlClient.SqlClient> = layerWith({
  vectorCacheBytes: DEFAULT_VECTOR_CACHE_BYTES
})
