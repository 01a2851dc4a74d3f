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
  answerErrors,
  BadRequest,
  error,
  PayloadTooLarge,
  Unprocessable,
  urlRefusedIn
} from "../ApiErrors.ts"
import type { DocumentView, KnowledgeBaseView } from "../knowledgeSchemas.ts"
import { createdAt } from "../responseHeaders.ts"

type Failure = { readonly message: string }

const toBaseView = ({
  knowledgeBase: base,
  documents,
  chunks,
  embeddingTokens,
  embeddingCostUsd
}: KnowledgeBaseWithDocuments): KnowledgeBaseView => ({
  id: base.id,
  name: base.name,
  language: base.language,
  chunking: base.chunking,
  embedding: base.embedding,
  documents,
  chunks,
  embeddingTokens,
  embeddingCostUsd,
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
  embeddingCostUsd: document.embeddingCostUsd,
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

/** On a knowledge base's settings, an unknown embedding provider is a field the client got wrong. */
const providerRefused = (e: Failure) => Effect.fail(new Unprocessable(error("provider_not_found", e.message)))

/** The refused address is the document's `url` field. */
const urlRefused = urlRefusedIn("url")

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
          Effect.catchTag("ProviderNotFound", providerRefused),
          answerErrors
        )
      )
      .handle("get", ({ params }) =>
        knowledge.getBase(baseId(params.id)).pipe(Effect.map(toBaseView), answerErrors)
      )
      .handle("update", ({ params, payload }) =>
        knowledge
          .updateBase(baseId(params.id), { ...payload, embedding: embeddingOf(payload.embedding) })
          .pipe(Effect.map(toBaseView), Effect.catchTag("ProviderNotFound", providerRefused), answerErrors)
      )
      .handle("remove", ({ params }) => knowledge.removeBase(baseId(params.id)).pipe(answerErrors))
      .handle("documents", ({ params }) =>
        knowledge.listDocuments(baseId(params.id)).pipe(
          Effect.map((all) => all.map(toDocumentView)),
          answerErrors
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
          .pipe(Effect.map(toDocumentView), Effect.catchTag("UrlNotAllowed", urlRefused), answerErrors)
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
            .pipe(Effect.catchTag("UrlNotAllowed", urlRefused), answerErrors)
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
          answerErrors
        )
      )
      .handle("reindex", ({ params }) =>
        knowledge
          .reindexDocument(baseId(params.id), KnowledgeDocumentId.make(params.documentId))
          .pipe(Effect.map(toDocumentView), answerErrors)
      )
      .handle("removeDocument", ({ params }) =>
        knowledge
          .removeDocument(baseId(params.id), KnowledgeDocumentId.make(params.documentId))
          .pipe(answerErrors)
      )
      .handle("search", ({ params, payload }) =>
        Effect.gen(function* () {
          yield* knowledge.getBase(baseId(params.id))
          const passages = yield* knowledge.retrieve([baseId(params.id)], payload.question, {
            topK: payload.topK,
            minScore: payload.minScore
          })
          return { passages: passages.map(toPassageView) }
        }).pipe(answerErrors)
      )
  })
)
