/**
 * Each knowledge base's vectors kept in this process (vectorSlab.ts) with their
 * chunks' text, loaded on the first question and loaded again when the base's
 * documents change, so a question costs one small statement and a scan. The
 * text is kept too: reading the nearest rows back was a second round trip,
 * which on a loaded machine cost as much as the scan.
 *
 * Whether they changed is asked of the documents table on every question: one
 * indexed aggregate (their count, their embedded chunks, their last change),
 * about a millisecond. Every write that changes a base's vectors changes one of
 * the three (indexing counts embedded chunks and stamps updated_at, a re-index
 * zeroes the count, a delete drops a row), so a stale slab is never scanned, and
 * no timer is needed. Another process's writes are seen the same way.
 *
 * The slabs together stay under a byte cap (KNOWLEDGE_VECTOR_CACHE_MB): the
 * least recently asked are dropped first, and a base too large for the cap alone
 * is left to the SQL scan (said once in the log).
 */
import { Effect, Semaphore } from "effect"
import type { SqlClient } from "effect/sql"
import { buildSlab, nearest, type SlabHit, type VectorSlab } from "./vectorSlab.ts"

interface Entry<A> {
  readonly fingerprint: string
  readonly slab: VectorSlab<A>
  readonly bytes: number
  lastUsed: number
}

/** A chunk's row as the cache loads it: the columns a search returns, and the vector's bytes. */
export interface CachedRow {
  readonly document_id: string
  readonly position: number
  readonly knowledge_base_id: string
  readonly heading_path: unknown
  readonly content: string
  readonly document_name: string
  readonly f32: Uint8Array
}

/** Per chunk beyond its floats: the object, its ids and heading path; its text counted apart (2 bytes a character). */
const ROW_OVERHEAD_BYTES = 300

export interface CachedScan<A> {
  /** Best first, at most `limit`, from the bases served in process. */
  readonly hits: ReadonlyArray<SlabHit<A>>
  /** Bases left to the SQL scan (over the cap). */
  readonly uncached: ReadonlyArray<string>
}

export interface VectorCache<A> {
  readonly scan: (
    bases: ReadonlyArray<string>,
    vector: ReadonlyArray<number>,
    limit: number
  ) => Effect.Effect<CachedScan<A>>
  /** Bytes held now, for the start-up line and tests. */
  readonly heldBytes: () => number
}

export const makeVectorCache = <A>(
  sql: SqlClient.SqlClient,
  capBytes: number,
  itemOf: (row: CachedRow) => A
): Effect.Effect<VectorCache<A>> =>
  Effect.gen(function* () {
    const entries = new Map<string, Entry<A>>()
    const tooLarge = new Set<string>()
    // One load at a time: two questions arriving together load a base once.
    const loading = yield* Semaphore.make(1)
    let clock = 0

    const heldBytes = () => {
      let total = 0
      for (const entry of entries.values()) total += entry.bytes
      return total
    }

    const fingerprints = (bases: ReadonlyArray<string>) =>
      sql<{ id: string; documents: string | number; embedded: string | number; changed: Date | null }>`
        SELECT knowledge_base_id AS id, count(*) AS documents, coalesce(sum(embedded_chunks), 0) AS embedded,
          max(updated_at) AS changed
        FROM knowledge_documents WHERE knowledge_base_id = ANY(${`{${bases.join(",")}}`}::uuid[])
        GROUP BY knowledge_base_id`.pipe(
        Effect.orDie,
        Effect.map(
          (rows) =>
            new Map(
              rows.map((row) => [
                row.id,
                `${row.documents}:${row.embedded}:${row.changed === null ? 0 : new Date(row.changed).getTime()}`
              ])
            )
        )
      )

    const load = (base: string, dimensions: number, fingerprint: string) =>
      loading.withPermits(1)(
        Effect.gen(function* () {
          const key = `${base}:${dimensions}`
          const current = entries.get(key)
          if (current !== undefined && current.fingerprint === fingerprint) return current
          const [size] = yield* sql<{ rows: string | number; characters: string | number | null }>`
            SELECT count(*) AS rows, sum(length(content)) AS characters FROM knowledge_chunks
            WHERE knowledge_base_id = ${base} AND length(embedding_f32) = ${dimensions * 4}`.pipe(
            Effect.orDie
          )
          const bytes =
            Number(size?.rows ?? 0) * (dimensions * 4 + ROW_OVERHEAD_BYTES) +
            2 * Number(size?.characters ?? 0)
          if (bytes > capBytes) {
            entries.delete(key)
            if (!tooLarge.has(key)) {
              tooLarge.add(key)
              yield* Effect.logWarning("knowledge vectors: base larger than the in-process cap, SQL scan", {
                knowledge_base_id: base,
                bytes,
                cap_bytes: capBytes
              })
            }
            return undefined
          }
          tooLarge.delete(key)
          entries.delete(key)
          // Make room: the least recently asked go first.
          const byAge = [...entries.entries()].sort((a, b) => a[1].lastUsed - b[1].lastUsed)
          let held = heldBytes()
          for (const [other, entry] of byAge) {
            if (held + bytes <= capBytes) break
            entries.delete(other)
            held -= entry.bytes
          }
          const rows = yield* sql<CachedRow>`
            SELECT c.document_id, c.position, c.knowledge_base_id, c.heading_path, c.content,
              d.name AS document_name, c.embedding_f32 AS f32
            FROM knowledge_chunks c JOIN knowledge_documents d ON d.id = c.document_id
            WHERE c.knowledge_base_id = ${base} AND length(c.embedding_f32) = ${dimensions * 4}`.pipe(
            Effect.orDie
          )
          const slab = buildSlab(
            dimensions,
            rows.map((row) => ({ item: itemOf(row), f32: row.f32 }))
          )
          const entry: Entry<A> = { fingerprint, slab, bytes, lastUsed: ++clock }
          entries.set(key, entry)
          return entry
        })
      )

    const scan = Effect.fn("KnowledgeVectorCache.scan")(function* (
      bases: ReadonlyArray<string>,
      vector: ReadonlyArray<number>,
      limit: number
    ) {
      const current = yield* fingerprints(bases)
      const uncached: Array<string> = []
      const hits: Array<SlabHit<A>> = []
      for (const base of bases) {
        // A base with no documents has nothing to scan.
        const fingerprint = current.get(base)
        if (fingerprint === undefined) continue
        const key = `${base}:${vector.length}`
        const cached = entries.get(key)
        const entry =
          cached !== undefined && cached.fingerprint === fingerprint
            ? cached
            : yield* load(base, vector.length, fingerprint)
        if (entry === undefined) {
          uncached.push(base)
          continue
        }
        entry.lastUsed = ++clock
        hits.push(...nearest(entry.slab, vector, limit))
      }
      hits.sort((a, b) => b.score - a.score)
      return { hits: hits.slice(0, limit), uncached }
    })

    return { scan, heldBytes }
  })
