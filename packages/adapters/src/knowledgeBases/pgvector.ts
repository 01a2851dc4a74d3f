/**
 * Knowledge vectors served by pgvector's HNSW index, where the server has the
 * `vector` extension (the compose image `pgvector/pgvector:pg18`); elsewhere
 * (the embedded PostgreSQL) the in-process scan runs (vectorCache.ts).
 *
 * The index design. Dimensions differ per knowledge base (its model, reduced
 * or not), and an HNSW index needs one fixed dimension, so each base gets its
 * own partial expression index over the `real[]` column the scan path writes:
 *
 *   CREATE INDEX knowledge_chunks_hnsw_<base>_<dims> ON knowledge_chunks
 *     USING hnsw ((embedding::vector(<dims>)) vector_ip_ops) WITH (m = 32, ef_construction = 200)
 *     WHERE knowledge_base_id = '<base>' AND array_length(embedding, 1) = <dims>
 *
 * No second copy of the vectors and no schema change: the migrations stay
 * runnable without pgvector, an install that gains the extension indexes the
 * vectors it already has (`backfill`, at start-up), and one that loses it
 * keeps working on the scan. The dimension in the predicate keeps a row of
 * another length (a base re-indexed with another model) out of the cast, which
 * would otherwise fail its write. Inner product: the stored vectors are unit
 * length, so it is the cosine the scan computes, and the score is the same.
 *
 * The base id and the dimension are written into the statements as literals,
 * checked first (a UUID, a whole number): DDL takes no parameters, and the
 * planner only picks a partial index when it can see the predicate's values,
 * which a bound parameter hides from a cached generic plan.
 */
import { Effect } from "effect"
import type { SqlClient } from "effect/sql"
import { vectorLiteral } from "./vectors.ts"

/** pgvector's limit for an HNSW index on `vector`. */
export const MAX_HNSW_DIMENSIONS = 2_000

/**
 * The graph and the walk, chosen on the benchmark's 20,000 chunks (hashed-word
 * fake vectors of 256 dimensions, PGlite + pgvector 0.8.7, load 11 on 2 cores),
 * the share of the exact top 5 that HNSW found, and its p50 (PGlite's timings):
 *
 *   m 16, ef_construction 64 (defaults), build 42 s:
 *     ef_search 100: 0.57, 16 ms; 200: 0.71; 400: 0.83, 18 ms; 1000: 0.95, 31 ms
 *   m 32, ef_construction 200, build 96 s:
 *     ef_search 100: 0.83, 5 ms; 200: 0.92, 9 ms; 400: 0.97, 13 ms; 1000: 0.995, 19 ms
 *
 * Those vectors are hard for a graph (sparse, and a question far from every
 * chunk); real embeddings need less. A denser graph costs at build time, once
 * per chunk, rather than on every question.
 */
export const HNSW_M = 32
export const HNSW_EF_CONSTRUCTION = 200
/** Candidates the walk keeps (pgvector's default is 40). */
export const EF_SEARCH = 200

export type VectorPath =
  | { readonly kind: "hnsw" }
  | { readonly kind: "scan"; readonly reason: "absent" | "not-permitted" | "disabled" }

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/

const checkedBase = (base: string): string => {
  const lower = base.toLowerCase()
  if (!UUID.test(lower)) throw new Error(`not a knowledge base id: ${base}`)
  return lower
}

const checkedDimensions = (dimensions: number): number => {
  if (!Number.isInteger(dimensions) || dimensions < 1 || dimensions > MAX_HNSW_DIMENSIONS) {
    throw new Error(`not an indexable dimension: ${dimensions}`)
  }
  return dimensions
}

/** Whether a base's vectors of this length can have an HNSW index. */
export const indexable = (base: string, dimensions: number): boolean =>
  UUID.test(base.toLowerCase()) &&
  Number.isInteger(dimensions) &&
  dimensions >= 1 &&
  dimensions <= MAX_HNSW_DIMENSIONS

export const indexName = (base: string, dimensions: number): string =>
  `knowledge_chunks_hnsw_${checkedBase(base).replaceAll("-", "")}_${checkedDimensions(dimensions)}`

const INDEX_NAME = /^knowledge_chunks_hnsw_([0-9a-f]{32})_(\d+)$/

/** `knowledge_chunks_hnsw_<32 hex>_<dims>` back to its base and dimension. */
const parseIndexName = (name: string): { base: string; dimensions: number } | undefined => {
  const match = INDEX_NAME.exec(name)
  if (match === null) return undefined
  const hex = match[1] as string
  const base = `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`
  return { base, dimensions: Number(match[2]) }
}

export const key = (base: string, dimensions: number) => `${base.toLowerCase()}:${dimensions}`

/**
 * Which path runs: pgvector when the extension is installed or this role may
 * install it; otherwise the scan, with the reason for the start-up line.
 */
export const detect = (sql: SqlClient.SqlClient, enabled: boolean): Effect.Effect<VectorPath> =>
  Effect.gen(function* () {
    if (!enabled) return { kind: "scan", reason: "disabled" } as const
    const [row] = yield* sql<{ available: boolean; installed: boolean }>`
      SELECT EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'vector') AS available,
        EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'vector') AS installed`.pipe(
      Effect.orElseSucceed(() => [{ available: false, installed: false }])
    )
    if (row?.installed === true) return { kind: "hnsw" } as const
    if (row?.available !== true) return { kind: "scan", reason: "absent" } as const
    // pgvector is not a trusted extension: installing it needs a superuser (the
    // compose file's POSTGRES_USER is one). A role that is not is told how, once.
    return yield* sql`CREATE EXTENSION IF NOT EXISTS vector`.pipe(
      Effect.as({ kind: "hnsw" } as const),
      Effect.catch((error) =>
        Effect.logWarning(
          "knowledge vectors: pgvector is available but this role may not create it; have a superuser run CREATE EXTENSION vector in this database",
          { error: error.message }
        ).pipe(Effect.as({ kind: "scan", reason: "not-permitted" } as const))
      )
    )
  })

/** The start-up line's words for a path. */
export const describePath = (path: VectorPath): string => {
  if (path.kind === "hnsw") return "pgvector HNSW"
  switch (path.reason) {
    case "absent":
      return "in-process scan (no pgvector)"
    case "not-permitted":
      return "in-process scan (pgvector available, but this role may not create it)"
    case "disabled":
      return "in-process scan (pgvector turned off)"
  }
}

/** The HNSW indexes that exist now, as `base:dims` keys. */
export const existingIndexes = (sql: SqlClient.SqlClient): Effect.Effect<Set<string>> =>
  sql<{ name: string }>`
    SELECT c.relname AS name FROM pg_class c JOIN pg_index i ON i.indexrelid = c.oid
    WHERE c.relkind = 'i' AND starts_with(c.relname, 'knowledge_chunks_hnsw_') AND i.indisvalid`.pipe(
    Effect.orDie,
    Effect.map((rows) => {
      const keys = new Set<string>()
      for (const row of rows) {
        const parsed = parseIndexName(row.name)
        if (parsed !== undefined) keys.add(key(parsed.base, parsed.dimensions))
      }
      return keys
    })
  )

/**
 * Builds a base's index if it has none. A plain CREATE INDEX: it is atomic (no
 * invalid index left by a crash, as CONCURRENTLY can) and takes a lock that
 * holds back writes to the chunks, not reads, for as long as the build runs:
 * moments for a new base, longer for a backfill of a large one. An advisory
 * lock on the name makes a second builder (the other thread, another process)
 * wait and then find the index, where two at once would collide on the name.
 */
export const ensureIndex = (sql: SqlClient.SqlClient, base: string, dimensions: number) =>
  Effect.suspend(() => {
    const id = checkedBase(base)
    const d = checkedDimensions(dimensions)
    const name = indexName(id, d)
    return sql.withTransaction(
      Effect.gen(function* () {
        yield* sql`SELECT pg_advisory_xact_lock(hashtext(${name}))`
        yield* sql.unsafe(`
          CREATE INDEX IF NOT EXISTS ${name} ON knowledge_chunks
          USING hnsw ((embedding::vector(${d})) vector_ip_ops)
          WITH (m = ${HNSW_M}, ef_construction = ${HNSW_EF_CONSTRUCTION})
          WHERE knowledge_base_id = '${id}' AND array_length(embedding, 1) = ${d}`)
      })
    )
  }).pipe(Effect.withSpan("KnowledgeRepository.ensureHnswIndex"))

/** Drops a deleted base's indexes (its rows are gone; the indexes would linger empty). */
export const dropIndexes = (sql: SqlClient.SqlClient, base: string) =>
  Effect.gen(function* () {
    const prefix = `knowledge_chunks_hnsw_${checkedBase(base).replaceAll("-", "")}_`
    const rows = yield* sql<{ name: string }>`
      SELECT relname AS name FROM pg_class WHERE relkind = 'i' AND starts_with(relname, ${prefix})`
    for (const row of rows) {
      if (parseIndexName(row.name) !== undefined) yield* sql.unsafe(`DROP INDEX IF EXISTS ${row.name}`)
    }
  })

/** Every (base, dimension) that has vectors: what a backfill indexes. */
export const vectorGroups = (sql: SqlClient.SqlClient) =>
  sql<{ base: string; dimensions: number }>`
    SELECT knowledge_base_id AS base, array_length(embedding, 1) AS dimensions
    FROM knowledge_chunks WHERE embedding IS NOT NULL GROUP BY 1, 2`.pipe(Effect.orDie)

/**
 * The nearest `limit` chunks of one base by inner product, through its index.
 * The ORDER BY expression is the index's, word for word: the planner matches
 * the text of the expression, not its meaning.
 */
export const nearestStatement = <A extends object>(
  sql: SqlClient.SqlClient,
  base: string,
  vector: ReadonlyArray<number>,
  limit: number
) => {
  const id = checkedBase(base)
  const d = checkedDimensions(vector.length)
  const query = `[${vectorLiteral(vector).slice(1, -1)}]`
  return sql<A>`
    SELECT c.document_id, c.position, c.knowledge_base_id, c.heading_path, c.content,
      d.name AS document_name, -n.distance AS score
    FROM (
      SELECT document_id, position, ${sql.unsafe(`(embedding::vector(${d}))`)} <#> ${query}::vector AS distance
      FROM knowledge_chunks
      WHERE ${sql.unsafe(`knowledge_base_id = '${id}' AND array_length(embedding, 1) = ${d}`)}
      ORDER BY distance
      LIMIT ${limit}
    ) n
    JOIN knowledge_chunks c USING (document_id, position)
    JOIN knowledge_documents d ON d.id = c.document_id
    ORDER BY n.distance, c.document_id, c.position`
}

/** `hnsw.ef_search` for this transaction only: at least the rows asked for. */
export const setEfSearch = (sql: SqlClient.SqlClient, limit: number) =>
  sql`SELECT set_config('hnsw.ef_search', ${String(Math.min(1_000, Math.max(EF_SEARCH, limit)))}, true)`
