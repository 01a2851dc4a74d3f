/**
 * Embeddings are counted like chat tokens, on memory twins: indexing's tokens
 * and cost stay on each document and add up on its knowledge base; embedding
 * a question adds its tokens and cost to the reply's use, against the bot and
 * its user (what /usage, the limits and the stats read), whether the passages
 * are injected or the model searches with search_knowledge.
 */
import { LanguageModelMemory } from "@botfleet/adapters"
import {
  ChatRepository,
  Embeddings,
  KnowledgeService,
  MessageRepository,
  UsageLedger
} from "@botfleet/application"
import type { Bot } from "@botfleet/domain"
import { FakeEmbedding } from "@botfleet/testing"
import { assert, describe, it } from "@effect/vitest"
import { Clock, Effect } from "effect"
import { addBot, CHAT_ID, harness, processUpdate, textUpdate } from "../harness.ts"

/** 10 tokens and $0.001 per text embedded. */
const pricedEmbeddings = Embeddings.of({
  embed: (request) =>
    Effect.succeed({
      vectors: request.inputs.map((input) => FakeEmbedding.fakeEmbedding(input, 32)),
      inputTokens: 10 * request.inputs.length,
      costUsd: 0.001 * request.inputs.length
    })
})

/** The bot's messages in the test's private chat. */
const messagesOf = (bot: Bot) =>
  Effect.gen(function* () {
    const chat = yield* (yield* ChatRepository).findOrCreate({
      botId: bot.id,
      telegramChatId: CHAT_ID,
      type: "private",
      title: null,
      tgUserId: null
    })
    return yield* (yield* MessageRepository).history(chat.id, chat.thread, null, 10)
  })

describe("embedding costs", () => {
  it.effect("indexing's on the document and its base; a question's with the reply", () =>
    Effect.gen(function* () {
      const knowledge = yield* KnowledgeService
      const { knowledgeBase } = yield* knowledge.createBase({
        name: "Manuals",
        embedding: { providerId: null, model: "priced", dimensions: null }
      })
      yield* knowledge.addDocument(knowledgeBase.id, {
        _tag: "text",
        name: "Kettle manual",
        text: "# Kettle\n\n## Warranty\n\nTwo years from purchase.\n\n## Descaling\n\nEvery month.",
        format: "markdown"
      })
      yield* knowledge.indexPending(60_000)
      const [document] = yield* knowledge.listDocuments(knowledgeBase.id)
      assert.strictEqual(document?.chunks, 2)
      assert.strictEqual(document?.embeddingTokens, 20)
      assert.closeTo(document?.embeddingCostUsd ?? 0, 0.002, 1e-12)
      const base = yield* knowledge.getBase(knowledgeBase.id)
      assert.strictEqual(base.embeddingTokens, 20)
      assert.closeTo(base.embeddingCostUsd, 0.002, 1e-12)

      // The same question to a bot without the base and one with it: the difference is the embedding.
      const ledger = yield* UsageLedger
      const { bot: plain } = yield* addBot({ streaming: false })
      const { bot: reading } = yield* addBot({
        telegramId: 700_002,
        username: "kettle_bot",
        streaming: false,
        knowledgeBaseIds: [knowledgeBase.id]
      })
      yield* processUpdate(plain, textUpdate(1, "how long is the warranty?"))
      yield* processUpdate(reading, textUpdate(1, "how long is the warranty?"))
      const now = new Date(yield* Clock.currentTimeMillis)
      const without = yield* ledger.usage(plain.id, CHAT_ID, now)
      const withBase = yield* ledger.usage(reading.id, CHAT_ID, now)
      // The model's own use differs (the sources' message is longer): each is compared with
      // what its reply stored.
      const replies = yield* LanguageModelMemory.LanguageModelMemoryControl.use((control) => control.requests)
      assert.lengthOf(replies, 2)
      const [plainReply, readingReply] = yield* Effect.forEach([plain, reading], (bot) =>
        Effect.map(messagesOf(bot), (messages) => {
          const answers = messages.filter((message) => message.role === "assistant")
          return {
            tokens: answers.reduce((sum, message) => sum + message.inputTokens + message.outputTokens, 0),
            costUsd: answers.reduce((sum, message) => sum + message.costUsd, 0)
          }
        })
      )
      assert.strictEqual(without.userTokensToday, plainReply?.tokens)
      assert.strictEqual(withBase.userTokensToday, (readingReply?.tokens ?? 0) + 10)
      assert.closeTo(without.botUsdThisMonth, plainReply?.costUsd ?? -1, 1e-9)
      assert.closeTo(withBase.botUsdThisMonth, (readingReply?.costUsd ?? 0) + 0.001, 1e-9)
      assert.closeTo(withBase.userUsdThisMonth, (readingReply?.costUsd ?? 0) + 0.001, 1e-9)
    }).pipe(Effect.provide(harness({ embeddings: pricedEmbeddings })))
  )

  it.effect("knowledgeMode tool: each search_knowledge call's query embedding counts with the reply", () =>
    Effect.gen(function* () {
      const knowledge = yield* KnowledgeService
      const { knowledgeBase } = yield* knowledge.createBase({
        name: "Manuals",
        embedding: { providerId: null, model: "priced", dimensions: null }
      })
      yield* knowledge.addDocument(knowledgeBase.id, {
        _tag: "text",
        name: "Kettle manual",
        text: "# Kettle\n\n## Warranty\n\nTwo years from purchase.",
        format: "markdown"
      })
      yield* knowledge.indexPending(60_000)
      const { bot } = yield* addBot({
        streaming: false,
        knowledgeBaseIds: [knowledgeBase.id],
        knowledgeMode: "tool"
      })
      // Two searches in one step, then the answer.
      yield* LanguageModelMemory.LanguageModelMemoryControl.use((control) =>
        control.setReply((request) =>
          request.messages.some((turn) => turn.role === "tool")
            ? "Two years."
            : {
                text: "",
                toolCalls: [
                  { id: "s1", name: "search_knowledge", arguments: '{"query":"warranty"}' },
                  { id: "s2", name: "search_knowledge", arguments: '{"query":"guarantee length"}' }
                ]
              }
        )
      )
      yield* processUpdate(bot, textUpdate(1, "how long is the warranty?"))
      const [, reply] = yield* messagesOf(bot)
      assert.strictEqual(reply?.text, "Two years.")
      const usage = yield* (yield* UsageLedger).usage(
        bot.id,
        CHAT_ID,
        new Date(yield* Clock.currentTimeMillis)
      )
      // The reply stores the chat model's use (both requests); the two embeddings add 2 × 10 tokens, 2 × $0.001.
      const modelTokens = (reply?.inputTokens ?? 0) + (reply?.outputTokens ?? 0)
      assert.isAbove(modelTokens, 0)
      assert.strictEqual(usage.userTokensToday, modelTokens + 20)
      assert.closeTo(usage.botUsdThisMonth, (reply?.costUsd ?? 0) + 0.002, 1e-9)
      assert.closeTo(usage.userUsdThisMonth, (reply?.costUsd ?? 0) + 0.002, 1e-9)
    }).pipe(Effect.provide(harness({ embeddings: pricedEmbeddings })))
  )
})
