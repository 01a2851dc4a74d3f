/**
 * Retrieval at 20,000 chunks on the embedded PostgreSQL: a generated corpus
 * of 1,000 documents x 20 paragraphs with labelled questions, each asked of
 * full text alone, vectors alone and the hybrid (reciprocal rank fusion).
 *
 * The corpus: 4,000 made-up words; each document has a topic of 6 words used
 * throughout it, and each paragraph 5 words of its own plus common words. A
 * question names 3 of its paragraph's own words (one in another inflection:
 * "-s", "-ed"), 1 topic word and 2 words from elsewhere, phrased as a question.
 * recall@5: the share of questions whose paragraph is among the 5 results.
 *
 * Vectors are the fake embeddings (hashed words, 256 dimensions, in this
 * process, no HTTP): they model lexical overlap, not meaning, so their recall
 * says the vector path (storage, the in-process exact scan, fusion) works and
 * what it costs, not how a real model would rank. Latency is one question at a
 * time, from the question to the fused list, the embedding call excluded. Two
 * yardsticks are timed at the same moment, since this shared machine's load
 * moves every figure: the SQL sign-bit scan (the path past
 * KNOWLEDGE_VECTOR_CACHE_MB) and one `SELECT 1`.
 *
 * Every row names the vector path that ran (the start-up line's words). On a
 * database with pgvector (`knowledge-pgvector`: PGlite with its pgvector build,
 * PostgreSQL in single-threaded WebAssembly, so its timings are not a real
 * server's) the vectors go through the HNSW index, and the exact in-process
 * scan is timed beside it, with the share of its top 5 that HNSW finds.
 */
import {
  DocumentReaderFiles,
  KnowledgeRepositoryPg,
  OutboundClient,
  OutboundHttpNode,
  ProviderRepositoryPg,
  SecretBoxMemory
} from "@botfleet/adapters"
import { Database } from "@botfleet/adapters/postgres"
import { Embeddings, KnowledgeRepository, KnowledgeService, KnowledgeSettings } from "@botfleet/application"
import {
  KnowledgeBase,
  KnowledgeBaseId,
  KnowledgeDocument,
  KnowledgeDocumentId,
  KnowledgeModel
} from "@botfleet/domain"
import { FakeEmbedding } from "@botfleet/testing"
import { Context, Effect, Layer, Redacted } from "effect"
import { SqlClient } from "effect/sql"
import { percentile, type Row } from "./harness.ts"

const DOCUMENTS = Number(process.env.BENCH_KNOWLEDGE_DOCUMENTS ?? 1_000)
const PARAGRAPHS = 20
const QUESTIONS = 500
const DIMENSIONS = 256

/** A seeded generator, so every run asks the same questions of the same corpus. */
const random = (() => {
  let state = 0x2545f491
  return () => {
    state ^= state << 13
    state ^= state >>> 17
    state ^= state << 5
    return (state >>> 0) / 2 ** 32
  }
})()
const pick = <A>(items: ReadonlyArray<A>): A => items[Math.floor(random() * items.length)] as A

const SYLLABLES = [
  "ka",
  "lo",
  "mi",
  "ra",
  "te",
  "nu",
  "sa",
  "vo",
  "pe",
  "di",
  "go",
  "ru",
  "ba",
  "ze",
  "fi",
  "to"
]
const makeWord = () => Array.from({ length: 3 + Math.floor(random() * 2) }, () => pick(SYLLABLES)).join("")
const VOCABULARY = [...new Set(Array.from({ length: 4_500 }, makeWord))].slice(0, 4_000)
const COMMON = [
  "the",
  "device",
  "should",
  "be",
  "used",
  "with",
  "care",
  "when",
  "it",
  "is",
  "running",
  "and",
  "then"
]

interface Labelled {
  readonly question: string
  readonly document: string
  readonly position: number
}

const generate = () => {
  const documents: Array<{ id: string; name: string; markdown: string }> = []
  const questions: Array<Labelled> = []
  for (let d = 0; d < DOCUMENTS; d++) {
    const id = crypto.randomUUID()
    const topic = Array.from({ length: 6 }, () => pick(VOCABULARY))
    const paragraphs: Array<Array<string>> = []
    for (let p = 0; p < PARAGRAPHS; p++) {
      const own = Array.from({ length: 5 }, () => pick(VOCABULARY))
      const words: Array<string> = []
      for (let w = 0; w < 45; w++) {
        const r = random()
        words.push(r < 0.25 ? pick(own) : r < 0.4 ? pick(topic) : r < 0.55 ? pick(VOCABULARY) : pick(COMMON))
      }
      paragraphs.push(words)
      if (questions.length < QUESTIONS && random() < (QUESTIONS / (DOCUMENTS * PARAGRAPHS)) * 1.5) {
        const inflected = `${own[0]}${pick(["s", "ed"])}`
        const asked = [inflected, own[1], own[2], pick(topic), pick(VOCABULARY), pick(VOCABULARY)]
        asked.sort(() => random() - 0.5)
        questions.push({ question: `How do I ${asked.join(" ")}?`, document: id, position: p })
      }
    }
    // One heading per document, then a paragraph per section of 5: the chunker keeps them apart.
    const markdown = paragraphs
      .map((words, p) => `${p % 5 === 0 ? `## Part ${p / 5}\n\n` : ""}${words.join(" ")}.`)
      .join("\n\n")
    documents.push({ id, name: `manual-${d}.md`, markdown: `# ${topic.join(" ")}\n\n${markdown}` })
  }
  return { documents, questions }
}

export const knowledge = async (
  databaseUrl: string,
  maxConnections = 4,
  label = ""
): Promise<ReadonlyArray<Row>> => {
  const embeddings = Layer.succeed(
    Embeddings,
    Embeddings.of({
      embed: (request) =>
        Effect.succeed({
          vectors: request.inputs.map((input) =>
            FakeEmbedding.fakeEmbedding(input, request.dimensions ?? DIMENSIONS)
          ),
          inputTokens: 0
        })
    })
  )
  const ports = Layer.mergeAll(
    KnowledgeRepositoryPg.layer,
    ProviderRepositoryPg.layer,
    DocumentReaderFiles.layer,
    SecretBoxMemory.layerMemory,
    OutboundHttpNode.layer(OutboundClient.make({ privateNetworks: "deny" })),
    embeddings,
    Layer.succeed(KnowledgeSettings, KnowledgeSettings.of({ maxDocumentBytes: 20 * 1024 * 1024 }))
  )
  const layer = KnowledgeService.layer.pipe(
    Layer.provideMerge(ports),
    Layer.provideMerge(Database.clientLayer(Redacted.make(databaseUrl), maxConnections))
  )

  const program = Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const repository = yield* KnowledgeRepository
    const service = yield* KnowledgeService
    const path = yield* KnowledgeRepositoryPg.vectorPath()
    process.stderr.write(`knowledge: vectors via ${path}${label}\n`)
    yield* sql`TRUNCATE knowledge_bases CASCADE`
    yield* sql`TRUNCATE knowledge_chunks`
    const { documents, questions } = generate()
    const at = new Date()
    const base = new KnowledgeBase({
      id: KnowledgeBaseId.make(crypto.randomUUID()),
      name: "bench",
      language: "english",
      chunking: { maxChars: 400, overlapChars: 0 },
      embedding: { providerId: null, model: "fake", dimensions: DIMENSIONS },
      createdAt: at,
      updatedAt: at
    })
    yield* repository.insertBase(base)

    const started = performance.now()
    let chunkCount = 0
    const lease = new Date(Date.now() + 3_600_000)
    for (const document of documents) {
      const id = KnowledgeDocumentId.make(document.id)
      const content = new TextEncoder().encode(document.markdown)
      yield* repository.insertDocument(
        new KnowledgeDocument({
          id,
          knowledgeBaseId: base.id,
          name: document.name,
          source: "text",
          format: "markdown",
          url: null,
          sizeBytes: content.byteLength,
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
        content
      )
      const chunks = KnowledgeModel.chunkBlocks(
        KnowledgeModel.blocksOfMarkdown(document.markdown),
        base.chunking
      )
      chunkCount += chunks.length
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
      yield* repository.markIndexed(id, at)
    }
    const indexSeconds = (performance.now() - started) / 1000
    process.stderr.write(`knowledge: ${chunkCount} chunks indexed in ${Math.round(indexSeconds)} s\n`)
    yield* sql`VACUUM ANALYZE knowledge_chunks`

    const hit = (found: ReadonlyArray<{ documentId: string; position: number }>, labelled: Labelled) =>
      found
        .slice(0, 5)
        .some((item) => item.documentId === labelled.document && item.position === labelled.position)

    const run = <A extends { documentId: string; position: number }>(
      name: string,
      ask: (question: string) => Effect.Effect<ReadonlyArray<A>, unknown>,
      vectors: string = path
    ) =>
      Effect.gen(function* () {
        process.stderr.write(`knowledge: asking ${name}…\n`)
        for (const labelled of questions.slice(0, 30)) yield* ask(labelled.question)
        const latencies: Array<number> = []
        let hits = 0
        for (const labelled of questions) {
          const t = performance.now()
          const found = yield* ask(labelled.question)
          latencies.push(performance.now() - t)
          if (hit(found, labelled)) hits++
        }
        return {
          scenario: `11 knowledge${label}: ${name}`,
          vectors,
          corpus: `${documents.length} docs, ${chunkCount} chunks`,
          questions: questions.length,
          "recall@5 %": Math.round((hits / questions.length) * 1000) / 10,
          "p50 ms": percentile(latencies, 50),
          "p99 ms": percentile(latencies, 99),
          "index s": Math.round(indexSeconds)
        } satisfies Row
      })

    const flat = (list: ReadonlyArray<{ chunk: { documentId: string; position: number } }>) =>
      list.map((item) => item.chunk)
    const rows: Array<Row> = []
    rows.push(
      yield* run("full text", (q) => Effect.map(repository.searchText(base.id, base.language, q, 5), flat))
    )
    rows.push(
      yield* run("vectors (fake, 256 d)", (q) =>
        Effect.map(repository.searchVector([base.id], FakeEmbedding.fakeEmbedding(q, DIMENSIONS), 5), flat)
      )
    )
    rows.push(yield* run("hybrid (RRF)", (q) => service.retrieve([base.id], q, { topK: 5, minScore: 0 })))
    // The same moment's yardsticks: the SQL scan the in-process one replaced (still the path
    // for a base over KNOWLEDGE_VECTOR_CACHE_MB), and one statement's round trip.
    const sqlScan = yield* Layer.build(
      KnowledgeRepositoryPg.layerWith({ vectorCacheBytes: 0, pgvector: false })
    ).pipe(Effect.map((context) => Context.get(context, KnowledgeRepository)))
    if (path === "pgvector HNSW") {
      // The exact scan beside HNSW: its latency, and how much of its top 5 HNSW found.
      const exact = yield* Layer.build(
        KnowledgeRepositoryPg.layerWith({
          vectorCacheBytes: KnowledgeRepositoryPg.DEFAULT_VECTOR_CACHE_BYTES,
          pgvector: false
        })
      ).pipe(Effect.map((context) => Context.get(context, KnowledgeRepository)))
      rows.push(
        yield* run(
          "vectors, in-process exact scan",
          (q) =>
            Effect.map(exact.searchVector([base.id], FakeEmbedding.fakeEmbedding(q, DIMENSIONS), 5), flat),
          "in-process exact scan"
        )
      )
      let agreed = 0
      for (const labelled of questions) {
        const vector = FakeEmbedding.fakeEmbedding(labelled.question, DIMENSIONS)
        const key = (item: { chunk: { documentId: string; position: number } }) =>
          `${item.chunk.documentId}#${item.chunk.position}`
        const truth = (yield* exact.searchVector([base.id], vector, 5)).map(key)
        const viaIndex = (yield* repository.searchVector([base.id], vector, 5)).map(key)
        agreed += viaIndex.filter((item) => truth.includes(item)).length / Math.max(1, truth.length)
      }
      rows.push({
        scenario: `11 knowledge${label}: HNSW top 5 vs exact top 5`,
        vectors: path,
        questions: questions.length,
        "recall@5 %": Math.round((agreed / questions.length) * 1000) / 10
      })
    }
    rows.push(
      yield* run(
        "vectors, SQL sign-bit scan",
        (q) =>
          Effect.map(sqlScan.searchVector([base.id], FakeEmbedding.fakeEmbedding(q, DIMENSIONS), 5), flat),
        "SQL sign-bit scan"
      )
    )
    rows.push(yield* run("one statement (SELECT 1)", () => Effect.as(sql`SELECT 1`, []), ""))
    yield* sql`TRUNCATE knowledge_bases CASCADE`
    yield* sql`TRUNCATE knowledge_chunks`
    return rows
  })
  return Effect.runPromise(program.pipe(Effect.scoped, Effect.provide(layer), Effect.orDie))
}
