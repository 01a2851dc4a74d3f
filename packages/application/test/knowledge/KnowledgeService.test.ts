/**
 * KnowledgeService on in-memory twins: documents refused before anything is
 * stored, indexing from pending to indexed, an embeddings server that is down
 * retried with backoff until the document fails saying why, one that refuses
 * failing it at once, and retrieval naming document and section.
 */
import {
  DocumentReaderFiles,
  KnowledgeRepositoryMemory,
  ProviderRepositoryMemory,
  SecretBoxMemory
} from "@botfleet/adapters"
import {
  EmbeddingError,
  Embeddings,
  INDEXING_MAX_ATTEMPTS,
  KnowledgeService,
  KnowledgeSettings,
  OutboundHttp,
  UrlNotAllowed
} from "@botfleet/application"
import { FakeEmbedding } from "@botfleet/testing"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Layer, Ref } from "effect"
import { TestClock } from "effect/testing"

/** `failures` holds what the next embeddings calls answer instead of vectors. */
const harness = (failures: Ref.Ref<ReadonlyArray<EmbeddingError>>) =>
  KnowledgeService.layer.pipe(
    Layer.provideMerge(
      Layer.mergeAll(
        KnowledgeRepositoryMemory.layerMemory,
        DocumentReaderFiles.layer,
        ProviderRepositoryMemory.layerMemory,
        SecretBoxMemory.layerMemory,
        Layer.succeed(KnowledgeSettings, KnowledgeSettings.of({ maxDocumentBytes: 1000 })),
        Layer.succeed(
          OutboundHttp,
          OutboundHttp.of({
            checkUrl: () => Effect.fail(new UrlNotAllowed({ rule: "test: every URL refused" })),
            request: () => Effect.fail(new UrlNotAllowed({ rule: "test: every URL refused" })),
            open: () => Effect.fail(new UrlNotAllowed({ rule: "test: every URL refused" }))
          })
        ),
        Layer.succeed(
          Embeddings,
          Embeddings.of({
            embed: (request) =>
              Effect.flatMap(
                Ref.getAndUpdate(failures, (queued) => queued.slice(1)),
                (queued) =>
                  queued[0] !== undefined
                    ? Effect.fail(queued[0])
                    : Effect.succeed({
                        vectors: request.inputs.map((input) => FakeEmbedding.fakeEmbedding(input, 32)),
                        inputTokens: request.inputs.length
                      })
              )
          })
        )
      )
    )
  )

const withService = <A, E>(
  body: (
    knowledge: KnowledgeService["Service"],
    failures: Ref.Ref<ReadonlyArray<EmbeddingError>>
  ) => Effect.Effect<A, E, KnowledgeService>
) =>
  Effect.gen(function* () {
    const failures = yield* Ref.make<ReadonlyArray<EmbeddingError>>([])
    return yield* Effect.flatMap(Effect.service(KnowledgeService), (knowledge) =>
      body(knowledge, failures)
    ).pipe(Effect.provide(harness(failures)))
  })

const MANUAL =
  "# Kettle\n\n## Warranty\n\nTwo years from purchase.\n\n## Descaling\n\nEvery month with citric acid."

describe("KnowledgeService", () => {
  it.effect("refuses an unknown format, a document over the limit and a refused URL, storing nothing", () =>
    withService((knowledge) =>
      Effect.gen(function* () {
        const { knowledgeBase } = yield* knowledge.createBase({ name: "Manuals" })
        const png = yield* Effect.flip(
          knowledge.addDocument(knowledgeBase.id, {
            _tag: "file",
            name: "photo.png",
            mediaType: "image/png",
            content: new Uint8Array(4)
          })
        )
        assert.strictEqual(png._tag, "UnsupportedDocumentFormat")
        const large = yield* Effect.flip(
          knowledge.addDocument(knowledgeBase.id, { _tag: "text", name: "big", text: "x".repeat(1001) })
        )
        assert.strictEqual(large._tag, "DocumentTooLarge")
        const url = yield* Effect.flip(
          knowledge.addDocument(knowledgeBase.id, { _tag: "url", url: "http://169.254.169.254/" })
        )
        assert.strictEqual(url._tag, "UrlNotAllowed")
        assert.deepStrictEqual(yield* knowledge.listDocuments(knowledgeBase.id), [])
      })
    )
  )

  it.effect("indexes a document and retrieves its passage with document and section", () =>
    withService((knowledge) =>
      Effect.gen(function* () {
        const { knowledgeBase } = yield* knowledge.createBase({
          name: "Manuals",
          embedding: { providerId: null, model: "fake", dimensions: null }
        })
        const document = yield* knowledge.addDocument(knowledgeBase.id, {
          _tag: "text",
          name: "kettle.md",
          text: MANUAL,
          format: "markdown"
        })
        assert.strictEqual(document.state, "pending")
        assert.deepStrictEqual(yield* knowledge.indexPending(60_000), { indexed: 1, failed: 0 })
        const { document: indexed, chunks } = yield* knowledge.getDocument(knowledgeBase.id, document.id)
        assert.strictEqual(indexed.state, "indexed")
        assert.strictEqual(indexed.embeddedChunks, 2)
        assert.deepStrictEqual(
          chunks.map((chunk) => chunk.headingPath),
          [
            ["Kettle", "Warranty"],
            ["Kettle", "Descaling"]
          ]
        )
        const [first] = yield* knowledge.retrieve([knowledgeBase.id], "how long is the warranty")
        assert.strictEqual(first?.documentName, "kettle.md")
        assert.strictEqual(first?.section, "Kettle › Warranty")
        assert.isNotNull(first?.fullText ?? null)
        assert.deepStrictEqual(yield* knowledge.retrieve([knowledgeBase.id], "   "), [])
      })
    )
  )

  it.effect("an embeddings server that is down is retried later, then the document fails saying why", () =>
    withService((knowledge, failures) =>
      Effect.gen(function* () {
        const { knowledgeBase } = yield* knowledge.createBase({
          name: "Manuals",
          embedding: { providerId: null, model: "fake", dimensions: null }
        })
        const document = yield* knowledge.addDocument(knowledgeBase.id, {
          _tag: "text",
          name: "a",
          text: MANUAL
        })
        const down = new EmbeddingError({
          description: "embeddings (fake): the server answered 503",
          retryable: true
        })
        yield* Ref.set(
          failures,
          Array.from({ length: INDEXING_MAX_ATTEMPTS }, () => down)
        )
        for (let attempt = 1; attempt < INDEXING_MAX_ATTEMPTS; attempt++) {
          assert.deepStrictEqual(yield* knowledge.indexPending(60_000), { indexed: 0, failed: 0 })
          const { document: waiting } = yield* knowledge.getDocument(knowledgeBase.id, document.id)
          assert.strictEqual(waiting.state, "pending")
          assert.strictEqual(waiting.attempts, attempt)
          assert.strictEqual(waiting.error, down.description)
          // Not tried again before its backoff has passed.
          assert.deepStrictEqual(yield* knowledge.indexPending(60_000), { indexed: 0, failed: 0 })
          assert.strictEqual(
            (yield* knowledge.getDocument(knowledgeBase.id, document.id)).document.attempts,
            attempt
          )
          yield* TestClock.adjust(`${30 * 2 ** (attempt - 1)} seconds`)
        }
        assert.deepStrictEqual(yield* knowledge.indexPending(60_000), { indexed: 0, failed: 1 })
        const { document: failed } = yield* knowledge.getDocument(knowledgeBase.id, document.id)
        assert.strictEqual(failed.state, "failed")
        assert.strictEqual(failed.error, down.description)

        // Re-indexed by hand once the server is back: indexed.
        yield* knowledge.reindexDocument(knowledgeBase.id, document.id)
        assert.deepStrictEqual(yield* knowledge.indexPending(60_000), { indexed: 1, failed: 0 })
      })
    )
  )

  it.effect("a refusal that waiting will not fix fails the document at once", () =>
    withService((knowledge, failures) =>
      Effect.gen(function* () {
        const { knowledgeBase } = yield* knowledge.createBase({
          name: "Manuals",
          embedding: { providerId: null, model: "no-such-model", dimensions: null }
        })
        const document = yield* knowledge.addDocument(knowledgeBase.id, {
          _tag: "text",
          name: "a",
          text: MANUAL
        })
        yield* Ref.set(failures, [
          new EmbeddingError({
            description: "embeddings (no-such-model): the server answered 404",
            retryable: false
          })
        ])
        assert.deepStrictEqual(yield* knowledge.indexPending(60_000), { indexed: 0, failed: 1 })
        const { document: failed } = yield* knowledge.getDocument(knowledgeBase.id, document.id)
        assert.strictEqual(failed.state, "failed")
        assert.include(failed.error ?? "", "404")
      })
    )
  )
})
