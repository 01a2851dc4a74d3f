/** Knowledge bases: a thin layer over KnowledgeService; a file upload's body is read here, up to the limit. */
import {
  type KnowledgeBaseWithDocuments,
  KnowledgeService,
  KnowledgeSettings,
  type Passage
} from "@botfleet/application"
import { KnowledgeBaseId, type KnowledgeDocument, KnowledgeDocumentId, ProviderId } from "@botfleet/domain"
import { ByteSize, Effect } from "effect"
import { HttpIncomingMessage } from "effect/http"
import { HttpApiBuilder } from "effect/http-api"
import { Api } from "../Api.ts"
import {
  BadRequest,
  Conflict,
  error,
  NotFound,
  PayloadTooLarge,
  ServiceUnavailable,
  Unprocessable,
  UnsupportedMediaType
} from "../ApiErrors.ts"
import type { DocumentView, KnowledgeBaseView } from "../knowledgeSchemas.ts"
import { createdAt } from "../responseHeaders.ts"

type Failure = { readonly message: string }

const toBaseView = ({
  knowledgeBase: base,
  documents,
  chunks
}: KnowledgeBaseWithDocuments): KnowledgeBaseView => ({
  id: base.id,
  name: base.name,
  language: base.language,
  chunking: base.chunking,
  embedding: base.embedding,
  documents,
  chunks,
  createdAt: base.createdAt.toISOString(),
  updatedAt: base.updatedAt.toISOString()
})

const toDocumentView = (document: KnowledgeDocument): DocumentView => ({
  id: document.id,
  knowledgeBaseId: document.knowledgeBaseId,
  name: document.name,
  source: document.source,
  format: document.format,
  url: document.url,
  sizeBytes: document.sizeBytes,
  state: document.state,
  error: document.error,
  attempts: document.attempts,
  chunks: document.chunks,
  embeddedChunks: document.embeddedChunks,
  embeddingTokens: document.embeddingTokens,
  createdAt: document.createdAt.toISOString(),
  updatedAt: document.updatedAt.toISOString(),
  indexedAt: document.indexedAt?.toISOString() ?? null
})

const toPassageView = (passage: Passage) => ({
  documentId: passage.documentId,
  documentName: passage.documentName,
  position: passage.position,
  section: passage.section,
  headingPath: passage.headingPath,
  text: passage.text,
  score: passage.score,
  fullText: passage.fullText,
  vector: passage.vector
})

const baseNotFound = (e: Failure) => Effect.fail(new NotFound(error("knowledge_base_not_found", e.message)))
const documentNotFound = (e: Failure) => Effect.fail(new NotFound(error("document_not_found", e.message)))

const settingsRefused = {
  KnowledgeBaseNameTaken: (e: Failure) => Effect.fail(new Conflict(error("name_taken", e.message))),
  ProviderNotFound: (e: Failure) => Effect.fail(new Unprocessable(error("provider_not_found", e.message)))
}

/** What adding a document can be refused for; nothing is stored then. */
const documentRefused = {
  KnowledgeBaseNotFound: baseNotFound,
  UnsupportedDocumentFormat: (e: Failure) =>
    Effect.fail(new UnsupportedMediaType(error("unsupported_format", e.message))),
  DocumentTooLarge: (e: Failure) => Effect.fail(new PayloadTooLarge(error("document_too_large", e.message))),
  UrlNotAllowed: (e: Failure) =>
    Effect.fail(new Unprocessable(error("url_not_allowed", `url: ${e.message}`))),
  OutboundRequestFailed: (e: Failure) => Effect.fail(new Unprocessable(error("url_unreachable", e.message))),
  DocumentFetchFailed: (e: Failure) => Effect.fail(new Unprocessable(error("url_fetch_failed", e.message)))
}

export const KnowledgeBasesHandlers = HttpApiBuilder.group(
  Api,
  "knowledgeBases",
  Effect.fn(function* (handlers) {
    const knowledge = yield* KnowledgeService
    const { maxDocumentBytes } = yield* KnowledgeSettings
    const baseId = (id: string) => KnowledgeBaseId.make(id)
    const embeddingOf = (
      embedding:
        | {
            readonly providerId?: string | null | undefined
            readonly model: string | null
            readonly dimensions?: number | null | undefined
          }
        | undefined
    ) =>
      embedding === undefined
        ? undefined
        : {
            providerId: embedding.providerId == null ? null : ProviderId.make(embedding.providerId),
            model: embedding.model,
            dimensions: embedding.dimensions ?? null
          }

    return handlers
      .handle("list", () => Effect.map(knowledge.listBases, (all) => all.map(toBaseView)))
      .handle("create", ({ payload }) =>
        knowledge.createBase({ ...payload, embedding: embeddingOf(payload.embedding) }).pipe(
          Effect.tap(({ knowledgeBase }) => createdAt(`/api/knowledge-bases/${knowledgeBase.id}`)),
          Effect.map(toBaseView),
          Effect.catchTags(settingsRefused)
        )
      )
      .handle("get", ({ params }) =>
        knowledge
          .getBase(baseId(params.id))
          .pipe(Effect.map(toBaseView), Effect.catchTag("KnowledgeBaseNotFound", baseNotFound))
      )
      .handle("update", ({ params, payload }) =>
        knowledge
          .updateBase(baseId(params.id), { ...payload, embedding: embeddingOf(payload.embedding) })
          .pipe(
            Effect.map(toBaseView),
            Effect.catchTags({ ...settingsRefused, KnowledgeBaseNotFound: baseNotFound })
          )
      )
      .handle("remove", ({ params }) =>
        knowledge.removeBase(baseId(params.id)).pipe(Effect.catchTag("KnowledgeBaseNotFound", baseNotFound))
      )
      .handle("documents", ({ params }) =>
        knowledge.listDocuments(baseId(params.id)).pipe(
          Effect.map((all) => all.map(toDocumentView)),
          Effect.catchTag("KnowledgeBaseNotFound", baseNotFound)
        )
      )
      .handle("addDocument", ({ params, payload }) => {
        const { text, url, name, format } = payload
        if ((text === undefined) === (url === undefined))
          return Effect.fail(new BadRequest(error("invalid_document", "give either text (with name) or url")))
        if (text !== undefined && name === undefined)
          return Effect.fail(new BadRequest(error("invalid_document", "pasted text needs a name")))
        const input =
          url !== undefined
            ? ({ _tag: "url", url, name } as const)
            : ({ _tag: "text", name: name ?? "", text: text ?? "", format } as const)
        return knowledge
          .addDocument(baseId(params.id), input)
          .pipe(Effect.map(toDocumentView), Effect.catchTags(documentRefused))
      })
      .handleRaw("upload", ({ params, query, request }) =>
        Effect.gen(function* () {
          const declared = Number(request.headers["content-length"] ?? Number.NaN)
          const tooLarge = new PayloadTooLarge(
            error(
              "document_too_large",
              `the document is larger than the ${maxDocumentBytes / 1048576} MB limit`
            )
          )
          // Refused before a byte of the body is read.
          if (Number.isFinite(declared) && declared > maxDocumentBytes) return yield* Effect.fail(tooLarge)
          const body = yield* request.arrayBuffer.pipe(
            Effect.provideService(HttpIncomingMessage.MaxBodySize, ByteSize.bytes(maxDocumentBytes)),
            Effect.mapError(() => tooLarge)
          )
          const document = yield* knowledge
            .addDocument(baseId(params.id), {
              _tag: "file",
              name: query.name,
              mediaType: request.headers["content-type"] ?? null,
              content: new Uint8Array(body)
            })
            .pipe(Effect.catchTags(documentRefused))
          return toDocumentView(document)
        })
      )
      .handle("document", ({ params }) =>
        knowledge.getDocument(baseId(params.id), KnowledgeDocumentId.make(params.documentId)).pipe(
          Effect.map(({ document, chunks }) => ({
            document: toDocumentView(document),
            chunks: chunks.map((chunk) => ({
              position: chunk.position,
              headingPath: chunk.headingPath,
              text: chunk.text
            }))
          })),
          Effect.catchTag("KnowledgeDocumentNotFound", documentNotFound)
        )
      )
      .handle("reindex", ({ params }) =>
        knowledge
          .reindexDocument(baseId(params.id), KnowledgeDocumentId.make(params.documentId))
          .pipe(Effect.map(toDocumentView), Effect.catchTag("KnowledgeDocumentNotFound", documentNotFound))
      )
      .handle("removeDocument", ({ params }) =>
        knowledge
          .removeDocument(baseId(params.id), KnowledgeDocumentId.make(params.documentId))
          .pipe(Effect.catchTag("KnowledgeDocumentNotFound", documentNotFound))
      )
      .handle("search", ({ params, payload }) =>
        Effect.gen(function* () {
          yield* knowledge.getBase(baseId(params.id))
          const passages = yield* knowledge.retrieve([baseId(params.id)], payload.question, {
            topK: payload.topK,
            minScore: payload.minScore
          })
          return { passages: passages.map(toPassageView) }
        }).pipe(
          Effect.catchTags({
            KnowledgeBaseNotFound: baseNotFound,
            EmbeddingError: (e) =>
              Effect.fail(new ServiceUnavailable(error("embeddings_unavailable", e.message)))
          })
        )
      )
  })
)
