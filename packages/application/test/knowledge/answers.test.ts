/**
 * Knowledge bases in the turn, on memory twins: the passages a question finds
 * reach the model as numbered sources with document and section; a bot
 * without knowledge bases asks nothing of them; a bot set to answer only from
 * them says it does not know, without the model, when nothing is found; an
 * embeddings server that is down leaves full text, and costs not the answer.
 */
import { LanguageModelMemory, TelegramGatewayMemory } from "@botfleet/adapters"
import { EmbeddingError, Embeddings, KnowledgeService } from "@botfleet/application"
import { KnowledgeModel } from "@botfleet/domain"
import { FakeEmbedding } from "@botfleet/testing"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Ref } from "effect"
import { addBot, CHAT_ID, harness, processUpdate, textUpdate, USER } from "../harness.ts"

const { TelegramMemoryLog } = TelegramGatewayMemory
const { LanguageModelMemoryControl } = LanguageModelMemory

const MANUAL =
  "# Kettle\n\n## Warranty\n\nTwo years from purchase.\n\n## Descaling\n\nEvery month with citric acid."

const sentTexts = TelegramMemoryLog.use((log) =>
  Effect.map(log.sentMessages, (sent) => sent.map((message) => message.text))
)
const llmRequests = LanguageModelMemoryControl.use((control) => control.requests)
const systemTurns = Effect.map(llmRequests, (requests) =>
  requests.map((request) =>
    request.messages.filter((turn) => turn.role === "system").map((turn) => String(turn.content))
  )
)

/**
 * A base with the kettle manual, indexed: full text and fake vectors, or full
 * text only (nearest vectors are always found, so "nothing found" needs a
 * base without them).
 */
const kettleBaseWith = (vectors: boolean) =>
  Effect.gen(function* () {
    const knowledge = yield* KnowledgeService
    const { knowledgeBase } = yield* knowledge.createBase({
      name: "Manuals",
      ...(vectors ? { embedding: { providerId: null, model: "fake", dimensions: null } } : {})
    })
    yield* knowledge.addDocument(knowledgeBase.id, {
      _tag: "text",
      name: "Kettle manual",
      text: MANUAL,
      format: "markdown"
    })
    assert.deepStrictEqual(yield* knowledge.indexPending(60_000), { indexed: 1, failed: 0 })
    return knowledgeBase
  })
const kettleBase = kettleBaseWith(true)

/** Embeddings that count their calls and fail while `down` holds. */
const countingEmbeddings = (calls: Ref.Ref<number>, down: Ref.Ref<boolean>) =>
  Embeddings.of({
    embed: (request) =>
      Effect.gen(function* () {
        yield* Ref.update(calls, (n) => n + 1)
        if (yield* Ref.get(down)) {
          return yield* new EmbeddingError({ description: "connection refused", retryable: true })
        }
        return {
          vectors: request.inputs.map((input) => FakeEmbedding.fakeEmbedding(input, 32)),
          inputTokens: request.inputs.length
        }
      })
  })

describe("knowledge in the turn", () => {
  it.effect("the passage found goes to the model as a numbered source with document and section", () =>
    Effect.gen(function* () {
      const base = yield* kettleBase
      const { bot } = yield* addBot({
        streaming: false,
        systemPrompt: "Be brief.",
        knowledgeBaseIds: [base.id]
      })
      yield* processUpdate(bot, textUpdate(1, "how long is the warranty?"))
      const [system] = yield* systemTurns
      assert.strictEqual(system?.[0], "Be brief.", "the bot's own prompt stays first")
      const sources = system?.[1] ?? ""
      assert.include(sources, "[1] Kettle manual, Kettle › Warranty\nTwo years from purchase.")
      assert.include(sources, '"[1] Manual, Installation"', "the model is shown how to cite")
      assert.notInclude(sources, "Answer only from the sources")
      const [request] = yield* llmRequests
      assert.deepStrictEqual(request?.messages.at(-1), { role: "user", content: "how long is the warranty?" })
    }).pipe(Effect.provide(harness()))
  )

  it.effect("a voice message retrieves with its transcript", () =>
    Effect.gen(function* () {
      const base = yield* kettleBaseWith(false)
      const { bot } = yield* addBot({ streaming: false, knowledgeBaseIds: [base.id], knowledgeOnly: true })
      // The memory transcriber hears a file's bytes as UTF-8 text.
      yield* TelegramMemoryLog.use((log) =>
        log.addFile("voice-1", new TextEncoder().encode("how long is the warranty"))
      )
      yield* processUpdate(bot, {
        update_id: 1,
        message: {
          message_id: 1,
          date: 1_700_000_000,
          chat: { id: CHAT_ID, type: "private", first_name: "Ada" },
          from: USER,
          voice: { file_id: "voice-1", file_unique_id: "u-voice-1", duration: 3, file_size: 24 }
        }
      })
      const [system] = yield* systemTurns
      assert.include(system?.[0] ?? "", "[1] Kettle manual, Kettle › Warranty")
      assert.deepStrictEqual(yield* sentTexts, ["echo: how long is the warranty"])
    }).pipe(Effect.provide(harness()))
  )

  it.effect("a bot without knowledge bases makes no retrieval and gets no sources", () =>
    Effect.gen(function* () {
      const calls = yield* Ref.make(0)
      const down = yield* Ref.make(false)
      yield* Effect.gen(function* () {
        const base = yield* kettleBase
        const embedded = yield* Ref.get(calls)
        const { bot } = yield* addBot({ streaming: false })
        yield* processUpdate(bot, textUpdate(1, "how long is the warranty?"))
        assert.deepStrictEqual(yield* systemTurns, [[]])
        assert.strictEqual(yield* Ref.get(calls), embedded, "no question embedded")

        // The same question to a bot with the base embeds it once.
        const { bot: withBase } = yield* addBot({
          telegramId: 700_002,
          username: "kettle_bot",
          streaming: false,
          knowledgeBaseIds: [base.id]
        })
        yield* processUpdate(withBase, textUpdate(2, "how long is the warranty?"))
        assert.strictEqual(yield* Ref.get(calls), embedded + 1)
      }).pipe(Effect.provide(harness({ embeddings: countingEmbeddings(calls, down) })))
    })
  )

  it.effect("knowledgeOnly: told to keep to the sources; nothing found, the fixed answer and no model", () =>
    Effect.gen(function* () {
      const base = yield* kettleBaseWith(false)
      const { bot } = yield* addBot({ streaming: false, knowledgeBaseIds: [base.id], knowledgeOnly: true })
      yield* processUpdate(bot, textUpdate(1, "how long is the warranty?"))
      const [system] = yield* systemTurns
      assert.include(system?.[0] ?? "", "Answer only from the sources below")
      assert.include(system?.[0] ?? "", "[1] Kettle manual, Kettle › Warranty")

      yield* processUpdate(bot, textUpdate(2, "zebra xylophone quasar"))
      assert.strictEqual((yield* llmRequests).length, 1, "the model is not asked")
      assert.deepStrictEqual(yield* sentTexts, [
        "echo: how long is the warranty?",
        KnowledgeModel.KNOWLEDGE_UNKNOWN_REPLY
      ])
    }).pipe(Effect.provide(harness()))
  )

  it.effect("knowledgeOnly without knowledge bases restricts nothing: the model answers", () =>
    Effect.gen(function* () {
      const { bot } = yield* addBot({ streaming: false, knowledgeOnly: true })
      yield* processUpdate(bot, textUpdate(1, "hello"))
      assert.deepStrictEqual(yield* sentTexts, ["echo: hello"])
    }).pipe(Effect.provide(harness()))
  )

  it.effect("embeddings down: the answer still comes, with the passages full text finds", () =>
    Effect.gen(function* () {
      const calls = yield* Ref.make(0)
      const down = yield* Ref.make(false)
      yield* Effect.gen(function* () {
        const base = yield* kettleBase
        yield* Ref.set(down, true)
        const { bot } = yield* addBot({ streaming: false, knowledgeBaseIds: [base.id] })
        yield* processUpdate(bot, textUpdate(1, "how long is the warranty?"))
        const [system] = yield* systemTurns
        assert.include(system?.[0] ?? "", "[1] Kettle manual, Kettle › Warranty\nTwo years from purchase.")
        assert.deepStrictEqual(yield* sentTexts, ["echo: how long is the warranty?"])
        // The search box still shows the failure, to tell the admin what is wrong.
        const failed = yield* Effect.flip(
          Effect.flatMap(Effect.service(KnowledgeService), (knowledge) =>
            knowledge.retrieve([base.id], "how long is the warranty?")
          )
        )
        assert.strictEqual(failed._tag, "EmbeddingError")
      }).pipe(Effect.provide(harness({ embeddings: countingEmbeddings(calls, down) })))
    })
  )
})
