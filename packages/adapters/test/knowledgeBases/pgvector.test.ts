/**
 * The pgvector path on a real pgvector: PGlite (PostgreSQL 18 in WebAssembly)
 * with its pgvector build, reached over the wire protocol by the real
 * KnowledgeRepositoryPg through @effect/sql-pg, every migration applied.
 */
import { KnowledgeRepository } from "@botfleet/application"
import {
  KnowledgeBase,
  KnowledgeBaseId,
  KnowledgeDocument,
  KnowledgeDocumentId,
  type KnowledgeModel
} from "@botfleet/domain"
import { PgliteVector } from "@botfleet/testing"
import { assert, describe, it, layer } from "@effect/vitest"
import { Context, Effect, Layer, Option } from "effect"
import { SqlClient } from "effect/sql"
import * as KnowledgeRepositoryPg from "../../src/knowledgeBases/KnowledgeRepositoryPg.ts"
import * as Pgvector from "../../src/knowledgeBases/pgvector.ts"
import * as Database from "../../src/postgres/Database.ts"

const DIMENSIONS = 32
const DOCUMENTS = 30
const CHUNKS_PER_DOCUMENT = 12

/** A seeded generator: the same vectors every run. */
const makeRandom = (seed: number) => () => {
  seed ^= seed << 13
  seed ^= seed >>> 17
  seed ^= seed << 5
  return (seed >>> 0) / 2 ** 32 - 0.5
}
const random = makeRandom(0x2545f491)
const unit = (vector: ReadonlyArray<number>) => {
  const norm = Math.sqrt(vector.reduce((sum, x) => sum + x * x, 0))
  return vector.map((x) => x / norm)
}
const randomVector = () => unit(Array.from({ length: DIMENSIONS }, random))

// A pool of one: PGlite is one session (see PgliteVector).
const database = Layer.unwrap(
  Effect.gen(function* () {
    const { url } = yield* PgliteVector.PgliteVector
    return Database.layer({ url: Option.some(url), dataDir: "", maxConnections: 1 })
  })
).pipe(Layer.provide(PgliteVector.layer), Layer.orDie)

const hnswRepository = KnowledgeRepositoryPg.layerWith({ vectorCacheBytes: 10 * 1024 * 1024 })
/** The exact in-process scan on the same database: the yardstick. */
const scanRepository = KnowledgeRepositoryPg.layerWith({
  vectorCacheBytes: 10 * 1024 * 1024,
  pgvector: false
})

const at = new Date("2026-12-01T00:00:00Z")
const newBase = (name: string) =>
  new KnowledgeBase({
    id: KnowledgeBaseId.make(crypto.randomUUID()),
    name,
    language: "english",
    chunking: { maxChars: 400, overlapChars: 0 },
    embedding: { providerId: null, model: "fake", dimensions: DIMENSIONS },
    createdAt: at,
    updatedAt: at
  })

const addDocument = (
  base: KnowledgeBase,
  name: string,
  vectors: ReadonlyArray<ReadonlyArray<number>>
): Effect.Effect<KnowledgeDocumentId, never, KnowledgeRepository> =>
  Effect.gen(function* () {
    const repository = yield* KnowledgeRepository
    const id = KnowledgeDocumentId.make(crypto.randomUUID())
    yield* repository.insertDocument(
      new KnowledgeDocument({
        id,
        knowledgeBaseId: base.id,
        name,
        source: "text",
        format: "text",
        url: null,
        sizeBytes: 1,
        state: "indexing",
        error: null,
        attempts: 1,
        chunks: 0,
        embeddedChunks: 0,
        embeddingTokens: 0,
        createdAt: at,
        updatedAt: at,
        indexedAt: null
      }),
      new Uint8Array([1])
    )
    const chunks: Array<KnowledgeModel.Chunk> = vectors.map((_, position) => ({
      position,
      headingPath: [],
      text: `${name} part ${position}`
    }))
    const lease = new Date(Date.now() + 60_000)
    yield* repository.replaceChunks(id, base.language, chunks, lease)
    yield* repository.storeEmbeddings(
      id,
      vectors.map((vector, position) => ({ position, vector })),
      { tokens: 0, costUsd: 0 },
      lease
    )
    yield* repository.markIndexed(id, new Date())
    return id
  })

const label = (found: ReadonlyArray<{ chunk: { documentName: string; position: number } }>) =>
  found.map((item) => `${item.chunk.documentName}#${item.chunk.position}`)

layer(database)("knowledge vectors on pgvector (PGlite)", (it) => {
  it.effect("a role that may not create the extension gets the scan, and is told why", () =>
    Effect.gen(function* () {
      const sql = yield* SqlClient.SqlClient
      // In a transaction rolled back (failed on purpose, carrying the answer), so the role goes with it.
      const path = yield* Effect.flip(
        sql
          .withTransaction(
            Effect.gen(function* () {
              yield* sql`CREATE ROLE knowledge_reader NOSUPERUSER`.pipe(Effect.orDie)
              yield* sql`SET LOCAL ROLE knowledge_reader`.pipe(Effect.orDie)
              return yield* Effect.fail(yield* Pgvector.detect(sql, true))
            })
          )
          .pipe(Effect.catchTag("SqlError", Effect.die))
      )
      assert.deepStrictEqual(path, { kind: "scan", reason: "not-permitted" })
      assert.strictEqual(
        Pgvector.describePath(path),
        "in-process scan (pgvector available, but this role may not create it)"
      )
    })
  )

  it.effect("detects pgvector, creates the extension and says the HNSW path runs", () =>
    Effect.gen(function* () {
      const sql = yield* SqlClient.SqlClient
      const path = yield* Pgvector.detect(sql, true)
      assert.deepStrictEqual(path, { kind: "hnsw" })
      assert.strictEqual(Pgvector.describePath(path), "pgvector HNSW")
      const installed = yield* sql<{
        extname: string
      }>`SELECT extname FROM pg_extension WHERE extname = 'vector'`
      assert.strictEqual(installed.length, 1)
      assert.deepStrictEqual(yield* Pgvector.detect(sql, false), { kind: "scan", reason: "disabled" })
    })
  )

  it.effect(
    "indexes a base through its HNSW index, agrees with the exact scan, forgets a deleted document",
    () =>
      Effect.gen(function* () {
        const sql = yield* SqlClient.SqlClient
        const hnsw = Context.get(yield* Layer.build(hnswRepository), KnowledgeRepository)
        const exact = Context.get(yield* Layer.build(scanRepository), KnowledgeRepository)
        const base = newBase("manuals")
        yield* hnsw.insertBase(base)
        const documents: Array<KnowledgeDocumentId> = []
        for (let d = 0; d < DOCUMENTS; d++) {
          const vectors = Array.from({ length: CHUNKS_PER_DOCUMENT }, randomVector)
          documents.push(
            yield* Effect.provideService(addDocument(base, `doc${d}`, vectors), KnowledgeRepository, hnsw)
          )
        }

        // The index exists, named for the base and the dimension, and the planner uses it.
        const name = Pgvector.indexName(base.id, DIMENSIONS)
        const indexes = yield* sql<{ indexdef: string }>`
          SELECT indexdef FROM pg_indexes WHERE tablename = 'knowledge_chunks' AND indexname = ${name}`
        assert.strictEqual(indexes.length, 1)
        assert.match(indexes[0]?.indexdef ?? "", /USING hnsw/)
        const query = randomVector()
        const plan = yield* sql<{
          "QUERY PLAN": string
        }>`EXPLAIN ${Pgvector.nearestStatement(sql, base.id, query, 5)}`
        const planText = plan.map((row) => row["QUERY PLAN"]).join("\n")
        assert.include(planText, `Index Scan using ${name}`, planText)

        // recall@5 of HNSW against the exact scan on 100 questions.
        // Statistics are flushed lazily: force it, then read (one session, so the same backend).
        const indexScans = sql`SELECT pg_stat_force_next_flush()`.pipe(
          Effect.andThen(sql<{ scans: string | number }>`
          SELECT coalesce(sum(idx_scan), 0) AS scans FROM pg_stat_user_indexes WHERE indexrelname = ${name}`),
          Effect.map((rows) => Number(rows[0]?.scans ?? 0))
        )
        const scansBefore = yield* indexScans
        let agreed = 0
        const questions = 100
        for (let q = 0; q < questions; q++) {
          const question = randomVector()
          const viaIndex = label(yield* hnsw.searchVector([base.id], question, 5))
          const truth = label(yield* exact.searchVector([base.id], question, 5))
          assert.strictEqual(truth.length, 5)
          agreed += viaIndex.filter((item) => truth.includes(item)).length
        }
        const recall = agreed / (questions * 5)
        assert.isAtLeast(recall, 0.9, `recall@5 ${recall}`)
        yield* Effect.logInfo(`pgvector HNSW recall@5 against the exact scan: ${recall}`)
        // The repository's searches went through the index, not the scan it falls back to.
        assert.isAtLeast((yield* indexScans) - scansBefore, questions)

        // Same scores as the scan (a dot product of unit vectors), best first.
        const question = randomVector()
        const viaIndex = yield* hnsw.searchVector([base.id], question, 5)
        const truth = yield* exact.searchVector([base.id], question, 5)
        assert.closeTo(viaIndex[0]?.score ?? 0, truth[0]?.score ?? 1, 1e-5)

        // A deleted document is no longer found: ask with its own vectors.
        const [first] = documents
        const ownChunk = yield* sql<{ embedding: ReadonlyArray<number> }>`
          SELECT embedding FROM knowledge_chunks WHERE document_id = ${first as string} AND position = 0`
        const own = (ownChunk[0]?.embedding ?? []).map(Number)
        assert.strictEqual(label(yield* hnsw.searchVector([base.id], own, 5))[0], "doc0#0")
        yield* hnsw.deleteDocument(first as KnowledgeDocumentId)
        const after = label(yield* hnsw.searchVector([base.id], own, 5))
        assert.strictEqual(after.length, 5)
        assert.isFalse(
          after.some((item) => item.startsWith("doc0#")),
          after.join(", ")
        )

        // Deleting the base drops its index.
        yield* hnsw.deleteBase(base.id)
        const left = yield* sql`SELECT 1 FROM pg_indexes WHERE indexname = ${name}`
        assert.strictEqual(left.length, 0)
      }).pipe(Effect.scoped),
    120_000
  )

  it.effect(
    "indexes at start-up the vectors stored before pgvector was used",
    () =>
      Effect.gen(function* () {
        const sql = yield* SqlClient.SqlClient
        const base = newBase("older")
        // Stored by a repository that did not use pgvector: no index yet.
        yield* Effect.gen(function* () {
          const scan = Context.get(yield* Layer.build(scanRepository), KnowledgeRepository)
          yield* scan.insertBase(base)
          yield* Effect.provideService(
            addDocument(base, "old", Array.from({ length: 20 }, randomVector)),
            KnowledgeRepository,
            scan
          )
        }).pipe(Effect.scoped)
        const name = Pgvector.indexName(base.id, DIMENSIONS)
        const before = yield* sql`SELECT 1 FROM pg_indexes WHERE indexname = ${name}`
        assert.strictEqual(before.length, 0)

        // A process that uses pgvector starts: the backfill builds the index in the background.
        yield* Layer.build(hnswRepository)
        let built = false
        for (let attempt = 0; attempt < 100 && !built; attempt++) {
          const found = yield* sql`SELECT 1 FROM pg_indexes WHERE indexname = ${name}`
          built = found.length === 1
          if (!built) yield* Effect.promise(() => new Promise((resolve) => setTimeout(resolve, 50)))
        }
        assert.isTrue(built, "the backfill built the index")
      }).pipe(Effect.scoped),
    60_000
  )
})

describe("pgvector names", () => {
  it("an index name carries the base and the dimension, and refuses what is not a UUID", () => {
    assert.strictEqual(
      Pgvector.indexName("0B86DC88-0CB6-4495-AB97-419C82E53E44", 256),
      "knowledge_chunks_hnsw_0b86dc880cb64495ab97419c82e53e44_256"
    )
    assert.throws(() => Pgvector.indexName("x'; DROP TABLE bots; --", 256))
    assert.isFalse(Pgvector.indexable("0b86dc88-0cb6-4495-ab97-419c82e53e44", 3_072))
  })
})
