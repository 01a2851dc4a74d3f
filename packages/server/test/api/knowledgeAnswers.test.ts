/**
 * Knowledge bases in the turn, on the real server and PostgreSQL with the fake
 * OpenAI (chat and /embeddings): a question sends the model the passage that
 * answers it with its numbered source; a deleted document is no longer sent;
 * a bot set to answer only from its knowledge bases answers the fixed
 * "I don't know" without a model call when nothing is found; an embeddings
 * server that refuses leaves the reply its full-text passages.
 */
import { KnowledgeModel } from "@botfleet/domain"
import { assert, layer } from "@effect/vitest"
import { Effect, Schema } from "effect"
import { DocumentView, KnowledgeBaseView } from "../../src/api/knowledgeSchemas.ts"
import { BotView } from "../../src/api/schemas.ts"
import { type ApiClient, expectBody, loggedIn, withAdmin } from "../support/apiClient.ts"
import {
  eventually,
  eventuallyEffect,
  postUpdate,
  layer as serverLayer,
  settled,
  TestServer,
  textUpdate
} from "../support/inProcessServer.ts"

const KETTLE =
  "# Kettle\n\n## Warranty\n\nThe warranty lasts two years from purchase.\n\n## Descaling\n\nDescale every month with citric acid."
const RETURNS = "Unused kettles may be returned within thirty days for a full refund."

const addText = (api: ApiClient, baseId: string, body: object) =>
  Effect.map(api.post(`/api/knowledge-bases/${baseId}/documents`, body), (response) =>
    expectBody(response, 202, DocumentView)
  )

/** Every document of the base indexed (the indexing job runs every 5 s). */
const indexed = (api: ApiClient, baseId: string) =>
  eventuallyEffect(
    Effect.map(api.get(`/api/knowledge-bases/${baseId}/documents`), (response) => {
      const documents = expectBody(response, 200, Schema.Array(DocumentView))
      return documents.every((document) => document.state === "indexed") ? documents : undefined
    }),
    30_000
  )

layer(serverLayer(withAdmin(), { recordLlmRequests: true }), { timeout: 120_000, excludeTestServices: true })(
  "knowledge in the turn",
  (it) => {
    it.effect("the model gets the passage with its source; a deleted document is no longer sent", () =>
      Effect.gen(function* () {
        const server = yield* TestServer
        const api = yield* loggedIn(server.baseUrl)
        const base = expectBody(
          yield* api.post("/api/knowledge-bases", {
            name: "Kettle",
            language: "english",
            embedding: { model: "fake-embedding", dimensions: 64 }
          }),
          201,
          KnowledgeBaseView
        )
        const manual = yield* addText(api, base.id, {
          name: "Kettle guide",
          format: "markdown",
          text: KETTLE
        })
        yield* addText(api, base.id, { name: "Returns", text: RETURNS })
        yield* indexed(api, base.id)

        const { bot } = yield* server.addBot("Kettle help")
        const patched = expectBody(
          yield* api.patch(`/api/bots/${bot.id}`, { knowledgeBaseIds: [base.id] }),
          200,
          BotView
        )
        assert.isFalse(patched.knowledgeOnly, "off unless asked")

        const chatId = 98_001
        const ask = (question: string) =>
          Effect.gen(function* () {
            assert.strictEqual(
              (yield* postUpdate(server.baseUrl, bot, textUpdate(chatId, question))).status,
              200
            )
            yield* eventually(() =>
              server.telegram.sentTo(chatId).some((sent) => sent.text === `reply to: ${question}`)
            )
            yield* settled(server, bot.id)
            const requests = yield* server.openai.requests
            const request = requests.findLast((r) => r.messages.at(-1)?.content === question)
            assert.isDefined(request, question)
            return (request?.messages ?? [])
              .filter((message) => message.role === "system")
              .map((message) => message.content)
              .join("\n")
          })

        const first = yield* ask("How long does the warranty last?")
        assert.include(
          first,
          "[1] Kettle guide, Kettle › Warranty\nThe warranty lasts two years from purchase."
        )
        assert.include(first, "Cite the sources you use in plain text")

        assert.strictEqual(
          (yield* api.delete(`/api/knowledge-bases/${base.id}/documents/${manual.id}`)).status,
          204
        )
        const after = yield* ask("How long does the warranty last, again?")
        assert.notInclude(after, "two years from purchase")
        assert.notInclude(after, "Kettle guide")
        assert.include(after, `[1] Returns\n${RETURNS}`, "the document left is still sent")
      })
    )

    it.effect("knowledgeOnly with nothing found answers the fixed text without a model call", () =>
      Effect.gen(function* () {
        const server = yield* TestServer
        const api = yield* loggedIn(server.baseUrl)
        // Full text only: nearest vectors always find something, full text finds nothing here.
        const base = expectBody(
          yield* api.post("/api/knowledge-bases", { name: "Strict", language: "english" }),
          201,
          KnowledgeBaseView
        )
        yield* addText(api, base.id, { name: "Returns", text: RETURNS })
        yield* indexed(api, base.id)

        const { bot } = yield* server.addBot("Strict help")
        const patched = expectBody(
          yield* api.patch(`/api/bots/${bot.id}`, { knowledgeBaseIds: [base.id], knowledgeOnly: true }),
          200,
          BotView
        )
        assert.isTrue(patched.knowledgeOnly)

        const chatId = 98_002
        const question = "zebra xylophone quasar"
        const before = (yield* server.openai.requests).length
        assert.strictEqual((yield* postUpdate(server.baseUrl, bot, textUpdate(chatId, question))).status, 200)
        yield* eventually(() =>
          server.telegram.sentTo(chatId).some((sent) => sent.text === KnowledgeModel.KNOWLEDGE_UNKNOWN_REPLY)
        )
        yield* settled(server, bot.id)
        const requests = yield* server.openai.requests
        assert.strictEqual(requests.length, before, "no model call")

        // A question the base answers goes to the model, told to keep to the sources.
        const answered = "Can unused kettles be returned for a refund?"
        assert.strictEqual((yield* postUpdate(server.baseUrl, bot, textUpdate(chatId, answered))).status, 200)
        yield* eventually(() =>
          server.telegram.sentTo(chatId).some((sent) => sent.text === `reply to: ${answered}`)
        )
        const request = (yield* server.openai.requests).findLast(
          (r) => r.messages.at(-1)?.content === answered
        )
        const system = (request?.messages ?? []).filter((m) => m.role === "system").map((m) => m.content)
        assert.isTrue(
          system.some((content) => content.includes("Answer only from the sources below")),
          JSON.stringify(system)
        )
      })
    )

    it.effect("the embeddings server down: the reply still comes, with the passages full text finds", () =>
      Effect.gen(function* () {
        const server = yield* TestServer
        const api = yield* loggedIn(server.baseUrl)
        const base = expectBody(
          yield* api.post("/api/knowledge-bases", {
            name: "Down",
            language: "english",
            embedding: { model: "down-embedding", dimensions: 64 }
          }),
          201,
          KnowledgeBaseView
        )
        yield* addText(api, base.id, { name: "Returns policy", text: RETURNS })
        yield* indexed(api, base.id)
        const { bot } = yield* server.addBot("Down help")
        expectBody(yield* api.patch(`/api/bots/${bot.id}`, { knowledgeBaseIds: [base.id] }), 200, BotView)

        yield* server.openai.failNext({
          status: 401,
          model: "down-embedding",
          times: Number.POSITIVE_INFINITY
        })
        const chatId = 98_003
        const question = "Can unused kettles be returned?"
        assert.strictEqual((yield* postUpdate(server.baseUrl, bot, textUpdate(chatId, question))).status, 200)
        yield* eventually(() =>
          server.telegram.sentTo(chatId).some((sent) => sent.text === `reply to: ${question}`)
        )
        const request = (yield* server.openai.requests).findLast(
          (r) => r.messages.at(-1)?.content === question
        )
        const system = (request?.messages ?? []).filter((m) => m.role === "system").map((m) => m.content)
        assert.isTrue(
          system.some((content) => content.includes(`[1] Returns policy\n${RETURNS}`)),
          JSON.stringify(system)
        )
        // The search box shows the failure instead.
        const searched = yield* api.post(`/api/knowledge-bases/${base.id}/search`, { question })
        assert.notStrictEqual(searched.status, 200)
      }).pipe(
        // The failure is scripted for good: forgotten, since this file's tests share the server.
        Effect.ensuring(Effect.flatMap(Effect.service(TestServer), (server) => server.openai.clear))
      )
    )
  }
)
