/**
 * knowledgeMode "tool", on memory twins: the turn injects no passages (the
 * model searches with search_knowledge instead), knowledgeOnly becomes an
 * instruction rather than the fixed "I don't know", and the tool itself,
 * called through its toolkit with the turn's ToolTurn, searches only the
 * bot of that turn and answers numbered passages with document and section.
 */
import { LanguageModelMemory, TelegramGatewayMemory } from "@botfleet/adapters"
import {
  BotAccess,
  ChatRepository,
  KnowledgeService,
  MessageRepository,
  SearchKnowledgeToolkit,
  SearchKnowledgeToolkitLive,
  ToolTurn
} from "@botfleet/application"
import { type Bot, KnowledgeModel } from "@botfleet/domain"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Layer, Stream } from "effect"
import { addBot, CHAT_ID, harness, processUpdate, textUpdate } from "../harness.ts"

const { LanguageModelMemoryControl } = LanguageModelMemory
const { TelegramMemoryLog } = TelegramGatewayMemory

const MANUAL =
  "# Kettle\n\n## Warranty\n\nTwo years from purchase.\n\n## Descaling\n\nEvery month with citric acid."

const systemTurns = LanguageModelMemoryControl.use((control) =>
  Effect.map(control.requests, (requests) =>
    requests.map((request) =>
      request.messages.filter((turn) => turn.role === "system").map((turn) => String(turn.content))
    )
  )
)

const kettleBase = Effect.gen(function* () {
  const knowledge = yield* KnowledgeService
  const { knowledgeBase } = yield* knowledge.createBase({ name: "Manuals" })
  yield* knowledge.addDocument(knowledgeBase.id, {
    _tag: "text",
    name: "Kettle manual",
    text: MANUAL,
    format: "markdown"
  })
  assert.deepStrictEqual(yield* knowledge.indexPending(60_000), { indexed: 1, failed: 0 })
  return knowledgeBase
})

/** The ToolTurn the turn loop would provide for the bot's first message in the test chat. */
const turnOf = (bot: Bot) =>
  Effect.gen(function* () {
    const { token } = yield* (yield* BotAccess).load(bot.id)
    const chat = yield* (yield* ChatRepository).findOrCreate({
      botId: bot.id,
      telegramChatId: CHAT_ID,
      type: "private",
      title: null,
      tgUserId: null
    })
    const history = yield* (yield* MessageRepository).history(chat.id, chat.thread, null, 10)
    const incoming = history.find((message) => message.role === "user")
    assert.isDefined(incoming)
    return ToolTurn.of({ bot, token, chat, incoming: incoming!, spend: () => Effect.void })
  })

const search = (turn: ToolTurn["Service"], query: string) =>
  Effect.gen(function* () {
    const toolkit = yield* SearchKnowledgeToolkit
    const results = yield* toolkit.handle("search_knowledge", { query })
    const [result] = yield* Stream.runCollect(results)
    return result!
  }).pipe(Effect.provideService(ToolTurn, turn))

const withTool = Effect.provide(SearchKnowledgeToolkitLive.pipe(Layer.provideMerge(harness()), Layer.orDie))

describe("knowledgeMode tool", () => {
  it.effect("the turn injects no passages and makes no search", () =>
    Effect.gen(function* () {
      const base = yield* kettleBase
      const { bot } = yield* addBot({
        streaming: false,
        systemPrompt: "Be brief.",
        knowledgeBaseIds: [base.id],
        knowledgeMode: "tool"
      })
      assert.strictEqual(bot.knowledgeMode, "tool")
      yield* processUpdate(bot, textUpdate(1, "how long is the warranty?"))
      assert.deepStrictEqual(yield* systemTurns, [["Be brief."]])
    }).pipe(withTool)
  )

  it.effect(
    "knowledgeOnly: the model is told to keep to what it searches, and is asked even when nothing matches",
    () =>
      Effect.gen(function* () {
        const base = yield* kettleBase
        const { bot } = yield* addBot({
          streaming: false,
          knowledgeBaseIds: [base.id],
          knowledgeOnly: true,
          knowledgeMode: "tool"
        })
        yield* processUpdate(bot, textUpdate(1, "zebra xylophone quasar"))
        assert.deepStrictEqual(yield* systemTurns, [[KnowledgeModel.KNOWLEDGE_TOOL_ONLY_PROMPT]])
        const sent = yield* TelegramMemoryLog.use((log) => log.sentMessages)
        assert.deepStrictEqual(
          sent.map((message) => message.text),
          ["echo: zebra xylophone quasar"]
        )
      }).pipe(withTool)
  )

  it.effect("search_knowledge through the toolkit: numbered passages with document and section", () =>
    Effect.gen(function* () {
      const base = yield* kettleBase
      const { bot } = yield* addBot({ streaming: false, knowledgeBaseIds: [base.id], knowledgeMode: "tool" })
      yield* processUpdate(bot, textUpdate(1, "hello"))
      const turn = yield* turnOf(bot)

      const found = yield* search(turn, "how long is the warranty")
      assert.isFalse(found.isFailure)
      const { passages } = found.result as {
        passages: ReadonlyArray<{
          source: number
          citation: string
          document: string
          section: string
          text: string
        }>
      }
      assert.deepStrictEqual(passages[0], {
        source: 1,
        citation: "Kettle manual, Kettle › Warranty",
        document: "Kettle manual",
        section: "Kettle › Warranty",
        text: "Two years from purchase."
      })
      assert.deepStrictEqual(
        passages.map((passage) => passage.source),
        passages.map((_, index) => index + 1)
      )

      // Another bot, without knowledge bases, searches nothing: the model hears why.
      const { bot: plain } = yield* addBot({ telegramId: 700_002, username: "plain_bot", streaming: false })
      const refused = yield* search({ ...turn, bot: plain }, "how long is the warranty")
      assert.isTrue(refused.isFailure)
      assert.include((refused.result as { reason: string }).reason, "no knowledge bases")
    }).pipe(withTool)
  )
})
