/**
 * Knowledge bases over HTTP, on the real server and PostgreSQL with the fake
 * OpenAI's /embeddings: every format uploaded, indexed by the scheduler's job
 * and found by the search box with its document and section; a malformed PDF
 * fails alone with its reason and can be re-indexed; refused inputs (format,
 * size, a metadata URL) store nothing; a deleted document is no longer found;
 * an indexing run that died mid-way resumes without embedding twice.
 */
import { readFileSync } from "node:fs"
import { createServer } from "node:http"
import type { AddressInfo } from "node:net"
import { fileURLToPath } from "node:url"
import { assert, layer } from "@effect/vitest"
import { Effect, Option, Schema } from "effect"
import {
  DocumentDetailView,
  DocumentView,
  KnowledgeBaseView,
  SearchResultView
} from "../../src/api/knowledgeSchemas.ts"
import { BotView, FailureRetried, FailureView } from "../../src/api/schemas.ts"
import {
  type ApiClient,
  expectBody,
  expectError,
  loggedIn,
  unknownId,
  withAdmin
} from "../support/apiClient.ts"
import { eventuallyEffect, layer as serverLayer, TestServer } from "../support/inProcessServer.ts"

const fixture = (name: string) =>
  new Uint8Array(
    readFileSync(fileURLToPath(new URL(`../../../testing/fixtures/knowledge/${name}`, import.meta.url)))
  )

const upload = (api: ApiClient, baseId: string, name: string, contentType: string, body: Uint8Array) =>
  api.request("POST", `/api/knowledge-bases/${baseId}/documents/upload?name=${encodeURIComponent(name)}`, {
    raw: body,
    headers: { "content-type": contentType }
  })

const documentsOf = (api: ApiClient, baseId: string) =>
  Effect.map(api.get(`/api/knowledge-bases/${baseId}/documents`), (response) =>
    expectBody(response, 200, Schema.Array(DocumentView))
  )

/** Every document of the base out of pending/indexing (the indexing job runs every 5 s). */
const settledDocuments = (api: ApiClient, baseId: string) =>
  eventuallyEffect(
    Effect.map(documentsOf(api, baseId), (documents) =>
      documents.every((document) => document.state === "indexed" || document.state === "failed")
        ? documents
        : undefined
    ),
    30_000
  )

const search = (api: ApiClient, baseId: string, question: string) =>
  Effect.map(api.post(`/api/knowledge-bases/${baseId}/search`, { question }), (response) =>
    expectBody(response, 200, SearchResultView)
  )

/** A web server on 127.0.0.1 with one Markdown page at /guide.md; anything else is 404. */
const webServer = Effect.acquireRelease(
  Effect.promise(
    () =>
      new Promise<{ origin: string; close: () => void }>((resolve) => {
        const server = createServer((request, response) => {
          if (request.url !== "/guide.md") return response.writeHead(404).end("no")
          response.writeHead(200, { "content-type": "text/markdown; charset=utf-8" })
          response.end("# Guide\n\n## Pairing\n\nHold the pairing button for five seconds.\n")
        })
        server.listen(0, "127.0.0.1", () =>
          resolve({
            origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
            close: () => server.close()
          })
        )
      })
  ),
  (web) => Effect.sync(web.close)
)

const documentRows = Effect.gen(function* () {
  const server = yield* TestServer
  return yield* server.sql<{ name: string }>`SELECT name FROM knowledge_documents ORDER BY name`.pipe(
    Effect.orDie
  )
})

// The fake embedding model priced at $1 per million tokens: indexing's cost is counted per document.
const adminWithPricedEmbeddings = withAdmin({
  knowledgeMaxDocumentMb: 1,
  openaiPrices: Option.some("fake-embedding=1/0")
})

layer(serverLayer(adminWithPricedEmbeddings), { timeout: 120_000, excludeTestServices: true })(
  "knowledge bases API",
  (it) => {
    it.effect(
      "each format indexed and found with its section; refusals store nothing; delete and re-index",
      () =>
        Effect.gen(function* () {
          const server = yield* TestServer
          const api = yield* loggedIn(server.baseUrl)

          const created = yield* api.post("/api/knowledge-bases", {
            name: "Kettle manual",
            language: "english",
            chunking: { maxChars: 400, overlapChars: 40 },
            embedding: { model: "fake-embedding", dimensions: 64 }
          })
          const base = expectBody(created, 201, KnowledgeBaseView)
          assert.strictEqual(created.headers.get("location"), `/api/knowledge-bases/${base.id}`)
          assert.strictEqual(base.language, "english")
          const taken = yield* api.post("/api/knowledge-bases", { name: "Kettle manual" })
          expectError(taken, 409, "name_taken")
          const badLanguage = yield* api.post("/api/knowledge-bases", { name: "X", language: "klingon" })
          expectError(badLanguage, 400, "invalid_request")
          const noProvider = yield* api.post("/api/knowledge-bases", {
            name: "Y",
            embedding: { providerId: unknownId, model: "m" }
          })
          expectError(noProvider, 422, "provider_not_found")
          // Text PostgreSQL cannot store (NUL), in a nested field too, is a 400 naming it, not a 500.
          const nul = yield* api.post("/api/knowledge-bases", { name: "Z", embedding: { model: "\u0000" } })
          assert.match(expectError(nul, 400, "invalid_request"), /^body\.embedding\.model/)
          const nulQuestion = yield* api.post(`/api/knowledge-bases/${base.id}/search`, {
            question: "a\u0000b"
          })
          assert.match(expectError(nulQuestion, 400, "invalid_request"), /^body\.question/)
          const refused = yield* server.sql<{ name: string }>`
            SELECT name FROM knowledge_bases WHERE name IN ('Y', 'Z')`.pipe(Effect.orDie)
          assert.deepStrictEqual(refused, [])

          // One document of each format.
          const markdown = yield* api.post(`/api/knowledge-bases/${base.id}/documents`, {
            name: "Safety.md",
            format: "markdown",
            text: "# Safety\n\n## Children\n\nKeep the kettle out of reach of children.\n\n## Cord\n\n- Never pull the power cord to unplug.\n- Check the cord for damage monthly.\n"
          })
          assert.strictEqual(expectBody(markdown, 202, DocumentView).state, "pending")
          const text = yield* api.post(`/api/knowledge-bases/${base.id}/documents`, {
            name: "Capacity",
            text: "The kettle holds 1.7 litres.\n\nThe minimum fill line is 0.5 litres."
          })
          expectBody(text, 202, DocumentView)
          const html = yield* upload(
            api,
            base.id,
            "returns.html",
            "text/html; charset=utf-8",
            new TextEncoder().encode(
              "<html><body><h1>Returns</h1><p>Unused kettles may be returned within thirty days for a full refund.</p><script>ignored()</script></body></html>"
            )
          )
          expectBody(html, 202, DocumentView)
          const pdf = yield* upload(
            api,
            base.id,
            "descaling.pdf",
            "application/pdf",
            fixture("descaling.pdf")
          )
          expectBody(pdf, 202, DocumentView)
          const docx = yield* upload(
            api,
            base.id,
            "warranty.docx",
            "application/octet-stream",
            fixture("warranty.docx")
          )
          assert.strictEqual(expectBody(docx, 202, DocumentView).format, "docx")
          const broken = yield* upload(api, base.id, "broken.pdf", "application/pdf", fixture("broken.pdf"))
          const brokenId = expectBody(broken, 202, DocumentView).id

          // Refused, and nothing stored: an unknown format, a document over the limit (1 MB here), a metadata URL.
          const before = yield* documentRows
          const png = yield* upload(api, base.id, "photo.png", "image/png", new Uint8Array([137, 80, 78, 71]))
          assert.include(expectError(png, 415, "unsupported_format"), "photo.png")
          const zip = yield* upload(
            api,
            base.id,
            "archive.zip",
            "application/octet-stream",
            new Uint8Array([80, 75])
          )
          expectError(zip, 415, "unsupported_format")
          const huge = yield* upload(
            api,
            base.id,
            "huge.txt",
            "text/plain",
            new Uint8Array(1024 * 1024 + 1).fill(97)
          )
          assert.include(expectError(huge, 413, "document_too_large"), "1 MB")
          for (const url of [
            "http://169.254.169.254/latest/meta-data",
            "http://[::ffff:169.254.169.254]/x.txt"
          ]) {
            const metadata = yield* api.post(`/api/knowledge-bases/${base.id}/documents`, { url })
            expectError(metadata, 422, "url_not_allowed")
          }
          const both = yield* api.post(`/api/knowledge-bases/${base.id}/documents`, {
            url: "http://x.test/",
            text: "t"
          })
          expectError(both, 400, "invalid_document")
          const nowhere = yield* api.post(`/api/knowledge-bases/${unknownId}/documents`, {
            name: "a",
            text: "b"
          })
          expectError(nowhere, 404, "knowledge_base_not_found")
          assert.deepStrictEqual(yield* documentRows, before)

          // Indexed by the scheduler's job; the malformed PDF fails alone, saying why.
          const documents = yield* settledDocuments(api, base.id)
          const byName = new Map(documents.map((document) => [document.name, document]))
          for (const name of ["Safety.md", "Capacity", "returns.html", "descaling.pdf", "warranty.docx"]) {
            const document = byName.get(name)
            assert.strictEqual(document?.state, "indexed", name)
            assert.isAbove(document?.chunks ?? 0, 0, name)
            assert.strictEqual(document?.embeddedChunks, document?.chunks, name)
            assert.isAbove(document?.embeddingTokens ?? 0, 0, name)
            assert.closeTo(
              document?.embeddingCostUsd ?? 0,
              (document?.embeddingTokens ?? 0) / 1_000_000,
              1e-9,
              name
            )
          }
          const withTotals = expectBody(
            yield* api.get(`/api/knowledge-bases/${base.id}`),
            200,
            KnowledgeBaseView
          )
          const tokens = documents.reduce((sum, document) => sum + document.embeddingTokens, 0)
          assert.strictEqual(withTotals.embeddingTokens, tokens)
          assert.closeTo(withTotals.embeddingCostUsd, tokens / 1_000_000, 1e-9)
          const failed = byName.get("broken.pdf")
          assert.strictEqual(failed?.state, "failed")
          assert.match(failed?.error ?? "", /^not a readable PDF file: /)

          // Listed with the other failures, with its reason, and retried from there: indexed
          // again from its stored bytes by the job, it fails again (later) for the same reason.
          const failuresPage = Schema.Struct({
            items: Schema.Array(FailureView),
            nextCursor: Schema.NullOr(Schema.String)
          })
          const listed = expectBody(yield* api.get("/api/failures?kind=document"), 200, failuresPage).items
          const ref = `document:${failed?.id}`
          const item = listed.find((failure) => failure.id === ref)
          assert.deepInclude(item, { kind: "document", botId: null, chatId: null, attempts: 1 })
          assert.strictEqual(item?.error, failed?.error)
          assert.include(item?.summary ?? "", "broken.pdf")
          assert.include(item?.summary ?? "", "(knowledge base Kettle manual)")
          const failureRetried = yield* api.post(`/api/failures/${ref}/retry`, {})
          assert.deepStrictEqual(expectBody(failureRetried, 202, FailureRetried), {
            id: ref,
            kind: "document",
            status: "queued"
          })
          const failedAgain = yield* eventuallyEffect(
            Effect.map(api.get("/api/failures?kind=document"), (response) =>
              expectBody(response, 200, failuresPage).items.find(
                (failure) => failure.id === ref && failure.at > (item?.at ?? "")
              )
            )
          )
          assert.strictEqual(failedAgain.error, failed?.error)
          const unknownDocument = yield* api.post(`/api/failures/document:${crypto.randomUUID()}/retry`, {})
          expectError(unknownDocument, 404, "failure_not_found")
          const notFailed = yield* api.post(`/api/failures/document:${byName.get("Safety.md")?.id}/retry`, {})
          expectError(notFailed, 409, "not_retryable")

          // The search box: the right document first, with its section and both lists' ranks.
          const cases = [
            ["How often should I descale the kettle?", "descaling.pdf"],
            ["How long is the warranty?", "warranty.docx"],
            ["Can I return an unused kettle for a refund?", "returns.html"],
            ["Is it safe to pull the cord to unplug?", "Safety.md"],
            ["How many litres does it hold?", "Capacity"]
          ] as const
          for (const [question, expected] of cases) {
            const { passages } = yield* search(api, base.id, question)
            assert.strictEqual(passages[0]?.documentName, expected, question)
            assert.isAtMost(passages.length, 5)
          }
          const cord = (yield* search(api, base.id, "pull the power cord")).passages[0]
          assert.strictEqual(cord?.section, "Safety › Cord")
          assert.isNotNull(cord?.fullText ?? null)
          assert.isNotNull(cord?.vector ?? null)
          const claims = (yield* search(api, base.id, "serial number engraved")).passages[0]
          assert.strictEqual(claims?.section, "Warranty › Claims")

          // Reading a document back gives its chunks with their heading paths.
          const safetyId = byName.get("Safety.md")?.id ?? ""
          const detail = expectBody(
            yield* api.get(`/api/knowledge-bases/${base.id}/documents/${safetyId}`),
            200,
            DocumentDetailView
          )
          assert.deepStrictEqual(
            detail.chunks.map((chunk) => chunk.headingPath),
            [
              ["Safety", "Children"],
              ["Safety", "Cord"]
            ]
          )

          // Deleted: no longer found.
          const removed = yield* api.delete(`/api/knowledge-bases/${base.id}/documents/${safetyId}`)
          assert.strictEqual(removed.status, 204)
          const after = yield* search(api, base.id, "pull the power cord to unplug")
          assert.isFalse(after.passages.some((passage) => passage.documentName === "Safety.md"))
          expectError(
            yield* api.get(`/api/knowledge-bases/${base.id}/documents/${safetyId}`),
            404,
            "document_not_found"
          )

          // The failed document can be retried: back to pending, and it fails again with its reason.
          const retried = yield* api.post(`/api/knowledge-bases/${base.id}/documents/${brokenId}/reindex`)
          assert.strictEqual(expectBody(retried, 202, DocumentView).state, "pending")
          const again = yield* settledDocuments(api, base.id)
          assert.strictEqual(again.find((document) => document.id === brokenId)?.state, "failed")

          // A document of another base is not reachable through this one.
          const other = expectBody(
            yield* api.post("/api/knowledge-bases", { name: "Other" }),
            201,
            KnowledgeBaseView
          )
          expectError(
            yield* api.get(`/api/knowledge-bases/${other.id}/documents/${brokenId}`),
            404,
            "document_not_found"
          )
          // Deleting a base takes its documents and chunks.
          assert.strictEqual((yield* api.delete(`/api/knowledge-bases/${other.id}`)).status, 204)
          expectError(yield* api.get(`/api/knowledge-bases/${other.id}`), 404, "knowledge_base_not_found")
        })
    )

    it.effect(
      "an indexing run that died mid-way resumes where it stopped, embedding only what was missing",
      () =>
        Effect.gen(function* () {
          const server = yield* TestServer
          const api = yield* loggedIn(server.baseUrl)
          const base = expectBody(
            yield* api.post("/api/knowledge-bases", {
              name: "Resume",
              chunking: { maxChars: 200, overlapChars: 0 },
              embedding: { model: "fake-embedding" }
            }),
            201,
            KnowledgeBaseView
          )
          const paragraphs = Array.from(
            { length: 12 },
            (_, i) => `Paragraph ${i} talks about topic number ${i} at length.`
          )
          const added = yield* api.post(`/api/knowledge-bases/${base.id}/documents`, {
            name: "Long",
            text: paragraphs.join("\n\n")
          })
          const id = expectBody(added, 202, DocumentView).id
          const [indexed] = yield* settledDocuments(api, base.id)
          assert.strictEqual(indexed?.state, "indexed")
          const total = indexed?.chunks ?? 0
          assert.isAbove(total, 3)

          // As a process that died after embedding the first half: its lease ran out, state still indexing.
          yield* server.sql`
          UPDATE knowledge_chunks SET embedding = NULL, embedding_bits = NULL
          WHERE document_id = ${id} AND position >= ${Math.floor(total / 2)}`.pipe(Effect.orDie)
          yield* server.sql`
          UPDATE knowledge_documents
          SET state = 'indexing', attempts = 1, lease_until = now() - interval '1 second',
              embedded_chunks = ${Math.floor(total / 2)}
          WHERE id = ${id}`.pipe(Effect.orDie)
          const sentBefore = (yield* server.openai.embeddingInputs).length
          const [resumed] = yield* settledDocuments(api, base.id)
          assert.strictEqual(resumed?.state, "indexed")
          assert.strictEqual(resumed?.embeddedChunks, total)
          assert.strictEqual(resumed?.attempts, 2)
          const sent = (yield* server.openai.embeddingInputs).slice(sentBefore)
          assert.strictEqual(sent.length, total - Math.floor(total / 2))
          assert.include(sent[sent.length - 1] ?? "", "Paragraph 11")
        })
    )

    it.effect(
      "a bot's knowledgeBaseIds: unknown ids 422 with nothing changed; a deleted base leaves every bot",
      () =>
        Effect.gen(function* () {
          const server = yield* TestServer
          const api = yield* loggedIn(server.baseUrl)
          const { bot } = yield* server.addBot("Librarian")
          const base = expectBody(
            yield* api.post("/api/knowledge-bases", { name: "Shelf" }),
            201,
            KnowledgeBaseView
          )
          const unknown = yield* api.patch(`/api/bots/${bot.id}`, { knowledgeBaseIds: [base.id, unknownId] })
          assert.include(expectError(unknown, 422, "unknown_knowledge_base"), unknownId)
          const unchanged = expectBody(yield* api.get(`/api/bots/${bot.id}`), 200, BotView)
          assert.deepStrictEqual(unchanged.knowledgeBaseIds, [])
          const notUuid = yield* api.patch(`/api/bots/${bot.id}`, { knowledgeBaseIds: ["shelf"] })
          expectError(notUuid, 400, "invalid_request")

          const attached = expectBody(
            yield* api.patch(`/api/bots/${bot.id}`, { knowledgeBaseIds: [base.id, base.id] }),
            200,
            BotView
          )
          assert.deepStrictEqual<ReadonlyArray<string>>(attached.knowledgeBaseIds, [base.id])
          assert.strictEqual((yield* api.delete(`/api/knowledge-bases/${base.id}`)).status, 204)
          const detached = expectBody(yield* api.get(`/api/bots/${bot.id}`), 200, BotView)
          assert.deepStrictEqual(detached.knowledgeBaseIds, [])
        })
    )

    it.effect("a URL is fetched once through the guard and indexed; one that answers 404 is refused", () =>
      Effect.scoped(
        Effect.gen(function* () {
          const server = yield* TestServer
          const api = yield* loggedIn(server.baseUrl)
          const web = yield* webServer
          const base = expectBody(
            yield* api.post("/api/knowledge-bases", { name: "Web" }),
            201,
            KnowledgeBaseView
          )
          const missing = yield* api.post(`/api/knowledge-bases/${base.id}/documents`, {
            url: `${web.origin}/gone`
          })
          assert.include(expectError(missing, 422, "url_fetch_failed"), "404")
          const added = yield* api.post(`/api/knowledge-bases/${base.id}/documents`, {
            url: `${web.origin}/guide.md`
          })
          const document = expectBody(added, 202, DocumentView)
          assert.strictEqual(document.name, "guide.md")
          assert.strictEqual(document.source, "url")
          assert.strictEqual(document.format, "markdown")
          const settled = yield* settledDocuments(api, base.id)
          // The 404 stored nothing: the one document is the page that was found.
          assert.deepStrictEqual(
            settled.map((d) => [d.name, d.state]),
            [["guide.md", "indexed"]]
          )
          const [first] = (yield* search(api, base.id, "how long to hold the pairing button")).passages
          assert.strictEqual(first?.section, "Guide › Pairing")
        })
      )
    )
  }
)
