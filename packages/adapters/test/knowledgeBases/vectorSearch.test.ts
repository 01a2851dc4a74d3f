import { KnowledgeRepository } from "@botfleet/application"
import {
  KnowledgeBase,
  KnowledgeBaseId,
  KnowledgeDocument,
  KnowledgeDocumentId,
  type KnowledgeModel
} from "@botfleet/domain"
import { FakeEmbedding, serverUrl, TestDatabase } from "@botfleet/testing"
import { assert, describe, it, layer } from "@effect/vitest"
import { Effect, Layer } from "effect"
import { SqlClient } from "effect/sql"
import * as KnowledgeRepositoryPg from "../../src/knowledgeBases/KnowledgeRepositoryPg.ts"
import * as Pgvector from "../../src/knowledgeBases/pgvector.ts"
import { buildSlab, nearest } from "../../src/knowledgeBases/vectorSlab.ts"
import * as Database from "../../src/postgres/Database.ts"

const DIMENSIONS = 16

describe("vectorSlab.nearest", () => {
  it("returns the same best rows, in the same order, as sorting every dot product", () => {
    let seed = 7
    const random = () => {
      seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31
      return seed / 2 ** 31 - 0.5
    }
    const vectors = Array.from({ length: 500 }, () => Array.from({ length: DIMENSIONS }, random))
    const slab = buildSlab(
      DIMENSIONS,
      vectors.map((vector, i) => ({ item: i, f32: new Uint8Array(Float32Array.from(vector).buffer) }))
    )
    const query = Array.from({ length: DIMENSIONS }, random)
    const dot = (v: ReadonlyArray<number>) =>
      Float32Array.from(v).reduce((sum, x, i) => sum + x * Math.fround(query[i] ?? 0), 0)
    const expected = vectors
      .map((vector, i) => ({ i, score: dot(vector) }))
      .sort((a, b) => b.score - a.score)
      .slice(0, 10)
      .map(({ i }) => i)
    assert.deepStrictEqual(
      nearest(slab, query, 10).map((hit) => hit.item),
      expected
    )
    assert.deepStrictEqual(nearest(slab, query.slice(1), 10), [], "a query of another length matches nothing")
  })
})

const database = TestDatabase.layer(serverUrl(), Database.layerAt)
// One database, two repositories over it: the in-process scan and the SQL scan (cap 0).
const cached = KnowledgeRepositoryPg.layerWith({ vectorCacheBytes: 10 * 1024 * 1024 })
const inSql = KnowledgeRepositoryPg.layerWith({ vectorCacheBytes: 0 })

const at = new Date("2026-12-01T00:00:00Z")
const base = new KnowledgeBase({
  id: KnowledgeBaseId.make(crypto.randomUUID()),
  name: "vectors",
  language: "english",
  chunking: { maxChars: 400, overlapChars: 0 },
  embedding: { providerId: null, model: "fake", dimensions: DIMENSIONS },
  createdAt: at,
  updatedAt: at
})

const addDocument = (name: string, texts: ReadonlyArray<string>) =>
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
    const chunks: Array<KnowledgeModel.Chunk> = texts.map((text, position) => ({
      position,
      headingPath: [],
      text
    }))
    const lease = new Date(Date.now() + 60_000)
    yield* repository.replaceChunks(id, base.language, chunks, lease)
    yield* repository.storeEmbeddings(
      id,
      chunks.map((chunk) => ({
        position: chunk.position,
        vector: FakeEmbedding.fakeEmbedding(chunk.text, DIMENSIONS)
      })),
      { tokens: 0, costUsd: 0 },
      lease
    )
    yield* repository.markIndexed(id, new Date())
    return id
  })

const search = (question: string) =>
  Effect.gen(function* () {
    const repository = yield* KnowledgeRepository
    const found = yield* repository.searchVector(
      [base.id],
      FakeEmbedding.fakeEmbedding(question, DIMENSIONS),
      3
    )
    return found.map((item) => `${item.chunk.documentName}#${item.chunk.position}`)
  })

layer(cached.pipe(Layer.provideMerge(database)))("knowledge vectors in process and in SQL", (it) => {
  it.effect("the embedded PostgreSQL has no pgvector: the scan runs, and no HNSW index is made", () =>
    Effect.gen(function* () {
      const sql = yield* SqlClient.SqlClient
      const path = yield* Pgvector.detect(sql, true)
      assert.deepStrictEqual(path, { kind: "scan", reason: "absent" })
      assert.strictEqual(Pgvector.describePath(path), "in-process scan (no pgvector)")
      assert.strictEqual((yield* Pgvector.existingIndexes(sql)).size, 0)
    })
  )

  it.effect("find the same chunks, and see documents added and deleted since the last question", () =>
    Effect.gen(function* () {
      const repository = yield* KnowledgeRepository
      yield* repository.insertBase(base)
      const kettle = yield* addDocument("kettle", [
        "descale the kettle with vinegar",
        "the warranty lasts two years",
        "boil water"
      ])
      const first = yield* search("kettle warranty years")
      assert.strictEqual(first[0], "kettle#1")
      assert.deepStrictEqual(yield* Effect.provide(search("kettle warranty years"), inSql), first)

      // Added after the slab was loaded: the next question sees it.
      yield* addDocument("toaster", ["the toaster warranty lasts three years"])
      assert.strictEqual((yield* search("toaster warranty three years"))[0], "toaster#0")

      // Deleted: no longer found.
      yield* repository.deleteDocument(kettle)
      const third = yield* search("kettle warranty years")
      assert.deepStrictEqual(third, ["toaster#0"])
      assert.deepStrictEqual(yield* Effect.provide(search("kettle warranty years"), inSql), third)
      // Vectors stored on a server without pgvector made no index (nor tried to).
      assert.strictEqual((yield* Pgvector.existingIndexes(yield* SqlClient.SqlClient)).size, 0)
    })
  )
})
