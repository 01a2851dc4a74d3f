/**
 * Personas on the memory twins: /mode's buttons, a press switching the
 * conversation's persona (per chat and per forum topic), the admin's default
 * and lock, and the persona's prompt, model and temperature in the request.
 */
import { LanguageModelMemory, TelegramGatewayMemory } from "@botfleet/adapters"
import { BotService } from "@botfleet/application"
import { englishTexts } from "@botfleet/domain"
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { addBot, callbackUpdate, harness, processUpdate, textUpdate } from "../harness.ts"

const { TelegramMemoryLog } = TelegramGatewayMemory
const { LanguageModelMemoryControl } = LanguageModelMemory

const personas = [
  {
    key: "tutor",
    name: "Tutor",
    systemPrompt: "Explain step by step.",
    model: "tutor-model",
    temperature: 0.2
  },
  { key: "poet", name: "Poet", systemPrompt: "Answer in verse." }
]

const llmRequests = LanguageModelMemoryControl.use((control) => control.requests)
const lastRequest = Effect.map(llmRequests, (requests) => requests[requests.length - 1]!)
const sent = TelegramMemoryLog.use((log) => log.sentMessages)
const lastSent = Effect.map(sent, (all) => all[all.length - 1]!)
const lastCallbackText = TelegramMemoryLog.use((log) =>
  Effect.map(log.callbackAnswers, (answers) => answers[answers.length - 1]?.text)
)

const FORUM_ID = -100_300
const ADA = { id: 5_001, is_bot: false, first_name: "Ada" }
const forum = { id: FORUM_ID, type: "supergroup", title: "Forum", is_forum: true }
const inTopic = (updateId: number, topic: number, text: string) => ({
  update_id: updateId,
  message: {
    message_id: 100 + updateId,
    date: 1_700_000_000,
    chat: forum,
    from: ADA,
    text,
    message_thread_id: topic,
    is_topic_message: true
  }
})
const pressInTopic = (updateId: number, topic: number, data: string) => ({
  update_id: updateId,
  callback_query: {
    id: `press-${updateId}`,
    from: ADA,
    chat_instance: "instance-1",
    data,
    message: {
      message_id: 40,
      date: 1_700_000_000,
      chat: forum,
      text: "choose",
      message_thread_id: topic,
      is_topic_message: true
    }
  }
})

describe("personas", () => {
  it.effect(
    "a persona's tools replace the bot's: offered under it, and none under one that has an empty list",
    () =>
      Effect.gen(function* () {
        const { bot } = yield* addBot({
          tools: ["fetch_url"],
          personas: [
            { key: "clock", name: "Clock", systemPrompt: "Tell the time.", tools: ["current_time"] },
            { key: "quiet", name: "Quiet", systemPrompt: "No tools.", tools: [] },
            { key: "plain", name: "Plain", systemPrompt: "As the bot." }
          ],
          defaultPersona: "clock"
        })
        yield* processUpdate(bot, textUpdate(1, "what time is it?"))
        assert.deepStrictEqual(
          (yield* lastRequest).tools?.map((tool) => tool.name),
          ["current_time"]
        )
        yield* processUpdate(bot, callbackUpdate(2, "mode:quiet"))
        yield* processUpdate(bot, textUpdate(3, "hello"))
        assert.isUndefined((yield* lastRequest).tools)
        // A persona without a tools list keeps the bot's.
        yield* processUpdate(bot, callbackUpdate(4, "mode:plain"))
        yield* processUpdate(bot, textUpdate(5, "read this page"))
        assert.deepStrictEqual(
          (yield* lastRequest).tools?.map((tool) => tool.name),
          ["fetch_url"]
        )
      }).pipe(Effect.provide(harness()))
  )

  it.effect(
    "/mode shows a button per persona; a press switches, and the next question gets its prompt, model and temperature",
    () =>
      Effect.gen(function* () {
        const { bot } = yield* addBot({ personas, systemPrompt: "Be brief.", model: "bot-model" })
        yield* processUpdate(bot, textUpdate(1, "/mode"))
        const shown = yield* lastSent
        assert.strictEqual(shown.text, englishTexts.text("mode.choose"))
        assert.deepStrictEqual(
          shown.buttons?.flat().map((button) => button.data),
          ["mode:tutor", "mode:poet"]
        )

        yield* processUpdate(bot, callbackUpdate(2, "mode:tutor"))
        assert.strictEqual(yield* lastCallbackText, englishTexts.text("mode.set", { name: "Tutor" }))

        yield* processUpdate(bot, textUpdate(3, "what is 2+2?"))
        const request = yield* lastRequest
        assert.deepStrictEqual(request.messages[0], { role: "system", content: "Explain step by step." })
        assert.strictEqual(request.model, "tutor-model")
        assert.strictEqual(request.temperature, 0.2)

        // A persona without a model keeps the bot's.
        yield* processUpdate(bot, callbackUpdate(4, "mode:poet"))
        yield* processUpdate(bot, textUpdate(5, "and 3+3?"))
        const poem = yield* lastRequest
        assert.deepStrictEqual(poem.messages[0], { role: "system", content: "Answer in verse." })
        assert.strictEqual(poem.model, "bot-model")

        yield* processUpdate(bot, textUpdate(6, "/mode"))
        // The current persona is marked on its button (labels are checked on the real server).
        assert.strictEqual((yield* lastSent).text, englishTexts.text("mode.choose"))
      }).pipe(Effect.provide(harness()))
  )

  it.effect("a bot without personas answers /mode with a text and asks with its own prompt", () =>
    Effect.gen(function* () {
      const { bot } = yield* addBot({ systemPrompt: "Be brief." })
      yield* processUpdate(bot, textUpdate(1, "/mode"))
      const shown = yield* lastSent
      assert.strictEqual(shown.text, englishTexts.text("mode.none"))
      assert.isUndefined(shown.buttons)
      yield* processUpdate(bot, callbackUpdate(2, "mode:tutor"))
      yield* processUpdate(bot, textUpdate(3, "hi"))
      assert.deepStrictEqual((yield* lastRequest).messages[0], { role: "system", content: "Be brief." })
    }).pipe(Effect.provide(harness()))
  )

  it.effect("the choice is kept per forum topic: another topic keeps the bot's own prompt", () =>
    Effect.gen(function* () {
      const { bot } = yield* addBot({ personas, systemPrompt: "Be brief.", username: "helper_bot" })
      yield* processUpdate(bot, pressInTopic(1, 7, "mode:poet"))
      yield* processUpdate(bot, inTopic(2, 7, "@helper_bot hello"))
      assert.deepStrictEqual((yield* lastRequest).messages[0], {
        role: "system",
        content: "Answer in verse."
      })
      yield* processUpdate(bot, inTopic(3, 9, "@helper_bot hello"))
      assert.deepStrictEqual((yield* lastRequest).messages[0], { role: "system", content: "Be brief." })
    }).pipe(Effect.provide(harness()))
  )

  it.effect("the default applies until a user chooses; locked, a press is refused and /mode says so", () =>
    Effect.gen(function* () {
      const { bot } = yield* addBot({ personas, defaultPersona: "poet" })
      yield* processUpdate(bot, textUpdate(1, "hi"))
      assert.deepStrictEqual((yield* lastRequest).messages[0], {
        role: "system",
        content: "Answer in verse."
      })

      const { bot: locked } = yield* addBot({
        telegramId: 700_002,
        username: "locked_bot",
        personas,
        defaultPersona: "poet",
        personaLocked: true
      })
      yield* processUpdate(locked, callbackUpdate(2, "mode:tutor"))
      assert.strictEqual(yield* lastCallbackText, englishTexts.text("mode.locked"))
      yield* processUpdate(locked, textUpdate(3, "hi"))
      const request = yield* lastRequest
      assert.deepStrictEqual(request.messages[0], { role: "system", content: "Answer in verse." })
      assert.notStrictEqual(request.model, "tutor-model")
      yield* processUpdate(locked, textUpdate(4, "/mode"))
      const shown = yield* lastSent
      assert.strictEqual(shown.text, englishTexts.text("mode.locked"))
      assert.isUndefined(shown.buttons)
    }).pipe(Effect.provide(harness()))
  )

  it.effect("a persona the admin removed falls back to the default, then to the bot's own prompt", () =>
    Effect.gen(function* () {
      const { bot } = yield* addBot({ personas, systemPrompt: "Be brief." })
      yield* processUpdate(bot, callbackUpdate(1, "mode:tutor"))
      const service = yield* BotService
      const edited = yield* service.update(bot.id, { personas: [personas[1]!] })
      yield* processUpdate(edited, textUpdate(2, "hi"))
      assert.deepStrictEqual((yield* lastRequest).messages[0], { role: "system", content: "Be brief." })
      // A press of the old button now says the choice is gone, and changes nothing.
      yield* processUpdate(edited, callbackUpdate(3, "mode:tutor"))
      assert.strictEqual(yield* lastCallbackText, englishTexts.text("mode.unknown"))
    }).pipe(Effect.provide(harness()))
  )
})
