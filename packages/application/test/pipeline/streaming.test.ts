/**
 * Streamed answers (conversations): in a private chat the answer
 * grows as drafts while the model writes, then goes out once as the final
 * message; drafts are never stored, so a stream that breaks is generated again.
 */
import { LanguageModelMemory, TelegramGatewayMemory } from "@botfleet/adapters"
import { defaultProviderPacing, TelegramGateway, telegramLimits } from "@botfleet/application"
import { assert, describe, it } from "@effect/vitest"
import { Clock, Effect, Fiber } from "effect"
import { TestClock } from "effect/testing"
import { addBot, CHAT_ID, harness, messagesOf, processUpdate, textUpdate } from "../harness.ts"

const { TelegramErrors, TelegramMemoryLog } = TelegramGatewayMemory
const { LanguageModelMemoryControl } = LanguageModelMemory

/** 60 words: six seconds of virtual streaming at 100 ms a piece. */
const answer = Array.from({ length: 60 }, (_, i) => `word${i}`).join(" ")
const longAnswer = () => LanguageModelMemoryControl.use((control) => control.setReply(() => answer))

const drafts = TelegramMemoryLog.use((log) => log.drafts)
const sent = TelegramMemoryLog.use((log) => log.sentMessages)
const callsOf = (method: string) =>
  TelegramMemoryLog.use((log) =>
    Effect.map(log.calls, (calls) => calls.filter((call) => call.method === method).length)
  )

describe("streamed answers in private chats", () => {
  it.effect("the answer grows as drafts at most every 300 ms, then arrives once as one message", () =>
    Effect.gen(function* () {
      const { bot } = yield* addBot()
      assert.isTrue(bot.streaming, "streaming is on by default")
      yield* longAnswer()
      yield* processUpdate(bot, textUpdate(7, "tell me a lot"))
      const shown = yield* drafts
      // 6 s of streaming, one draft per 300 ms at most.
      assert.isAtLeast(shown.length, 10)
      assert.isAtMost(shown.length, 21)
      for (const draft of shown) {
        assert.strictEqual(draft.chatId, CHAT_ID)
        assert.strictEqual(draft.draftId, 7, "the draft id is the question's message id")
        assert.isTrue(answer.startsWith(draft.text), "a draft shows the answer so far")
      }
      for (let i = 1; i < shown.length; i++) assert.isAbove(shown[i]!.text.length, shown[i - 1]!.text.length)
      assert.deepStrictEqual(
        (yield* sent).map((message) => message.text),
        [answer]
      )
      assert.strictEqual(yield* callsOf("sendChatAction"), 0, "drafts instead of typing")
      const [, reply] = yield* messagesOf(bot)
      assert.strictEqual(reply?.text, answer)
      assert.strictEqual(reply?.status, "sent")
      assert.strictEqual(reply?.outputTokens, 60)
    }).pipe(Effect.provide(harness()))
  )

  it.effect("a stream that breaks midway stores and sends nothing; the rerun sends the answer once", () =>
    Effect.gen(function* () {
      const { bot } = yield* addBot()
      yield* longAnswer()
      yield* LanguageModelMemoryControl.use((control) => control.failNextStreamAfter(30, "unavailable"))
      const failure = yield* Effect.flip(processUpdate(bot, textUpdate(1, "tell me a lot")))
      assert.strictEqual(failure._tag, "RetryLater")
      assert.isAbove((yield* drafts).length, 0, "drafts were shown before the break")
      assert.deepStrictEqual(yield* sent, [])
      assert.deepStrictEqual(
        (yield* messagesOf(bot)).map((message) => message.role),
        ["user"]
      )
      yield* processUpdate(bot, textUpdate(1, "tell me a lot"))
      assert.deepStrictEqual(
        (yield* sent).map((message) => message.text),
        [answer]
      )
      assert.strictEqual((yield* LanguageModelMemoryControl.use((control) => control.requests)).length, 2)
    }).pipe(Effect.provide(harness()))
  )

  it.effect("Telegram refusing drafts (404): the reply still goes out, typing instead, not asked again", () =>
    Effect.gen(function* () {
      const { bot } = yield* addBot()
      yield* longAnswer()
      yield* TelegramMemoryLog.use((log) =>
        log.failNext("sendMessageDraft", TelegramErrors.methodNotFound("sendMessageDraft"))
      )
      yield* processUpdate(bot, textUpdate(1, "first"))
      yield* processUpdate(bot, textUpdate(2, "second"))
      assert.strictEqual(yield* callsOf("sendMessageDraft"), 1, "tried once, then typing for this bot")
      assert.deepStrictEqual(yield* drafts, [])
      assert.isAtLeast(yield* callsOf("sendChatAction"), 2)
      assert.deepStrictEqual(
        (yield* sent).map((message) => message.text),
        [answer, answer]
      )
    }).pipe(Effect.provide(harness()))
  )

  it.effect(
    "a draft that fails for a while (5xx, timeout) is skipped; later drafts and the reply go on",
    () =>
      Effect.gen(function* () {
        const { bot } = yield* addBot()
        yield* longAnswer()
        yield* TelegramMemoryLog.use((log) =>
          log.failNext("sendMessageDraft", TelegramErrors.unavailable("sendMessageDraft"), 3)
        )
        yield* processUpdate(bot, textUpdate(1, "go"))
        assert.isAbove(yield* callsOf("sendMessageDraft"), 3)
        assert.isAbove((yield* drafts).length, 0)
        assert.deepStrictEqual(
          (yield* sent).map((message) => message.text),
          [answer]
        )
      }).pipe(Effect.provide(harness()))
  )

  describe("under Telegram's limits (drafts count in the chat's budget)", () => {
    // Virtual time of each draft and each final message, as the gateway is asked.
    const recorded = () => {
      const times = { drafts: [] as Array<number>, messages: [] as Array<number> }
      const telegram = (gateway: TelegramGateway["Service"]): TelegramGateway["Service"] => ({
        ...gateway,
        sendMessageDraft: (token, draft) =>
          Clock.currentTimeMillis.pipe(
            Effect.tap((now) => Effect.sync(() => times.drafts.push(now))),
            Effect.andThen(gateway.sendMessageDraft(token, draft))
          ),
        sendMessage: (...args) =>
          Clock.currentTimeMillis.pipe(
            Effect.tap((now) => Effect.sync(() => times.messages.push(now))),
            Effect.andThen(gateway.sendMessage(...args))
          )
      })
      // The model sleeps (100 ms a word) and only the test moves the clock.
      const layer = harness({
        telegram,
        model: "sleeps",
        pacing: { sendLimits: telegramLimits, providerPacing: defaultProviderPacing }
      })
      return { times, layer }
    }
    /** The reply may wait for the budget: the test walks the clock. */
    const answered = (bot: Parameters<typeof processUpdate>[0]) =>
      Effect.gen(function* () {
        const reply = yield* Effect.forkChild(processUpdate(bot, textUpdate(1, "tell me a lot")))
        for (let i = 0; i < 100; i++) yield* TestClock.adjust("100 millis")
        yield* Fiber.join(reply)
      })
    const interval = 1000 / telegramLimits.perChat.perSecond

    it.effect("a long answer: drafts keep coming, each within the chat's budget", () => {
      const { times, layer } = recorded()
      return Effect.gen(function* () {
        const { bot } = yield* addBot()
        yield* longAnswer()
        yield* answered(bot)
        // 6 s of streaming: the first draft after 300 ms, then about one each 1.4 s.
        assert.isAtLeast(times.drafts.length, 4)
        for (let i = 1; i < times.drafts.length; i++) {
          assert.isAtLeast(times.drafts[i]! - times.drafts[i - 1]!, interval - 1)
        }
        assert.deepStrictEqual(
          (yield* sent).map((message) => message.text),
          [answer]
        )
      }).pipe(Effect.provide(layer))
    })

    it.effect("a 1.5 s answer goes out when it ends, not held back by a draft sent just before", () => {
      const { times, layer } = recorded()
      const short = Array.from({ length: 15 }, (_, i) => `word${i}`).join(" ")
      return Effect.gen(function* () {
        const { bot } = yield* addBot()
        yield* LanguageModelMemoryControl.use((control) => control.setReply(() => short))
        yield* answered(bot)
        // The first draft comes 300 ms into the stream, which then ends 1.2 s later. A second
        // draft the moment the budget had room (1.11 s after the first) would hold the answer
        // until 1.11 s after that.
        assert.strictEqual(times.drafts.length, 1)
        assert.strictEqual(times.messages.length, 1)
        assert.isAtMost(times.messages[0]! - times.drafts[0]!, 1_300)
      }).pipe(Effect.provide(layer))
    })
  })

  it.effect("streaming off, or a group: no drafts, typing as before", () =>
    Effect.gen(function* () {
      const { bot } = yield* addBot({ streaming: false })
      yield* longAnswer()
      yield* processUpdate(bot, textUpdate(1, "go"))
      const group = { id: -100_5, type: "group", title: "Team" }
      const { bot: grouped } = yield* addBot({
        telegramId: 700_002,
        username: "second_bot",
        groupMode: "all"
      })
      yield* processUpdate(grouped, {
        update_id: 2,
        message: { message_id: 2, date: 1, chat: group, from: { id: 9, first_name: "Ann" }, text: "hi all" }
      })
      assert.deepStrictEqual(yield* drafts, [])
      assert.strictEqual(yield* callsOf("sendMessageDraft"), 0)
      assert.isAtLeast(yield* callsOf("sendChatAction"), 2)
      assert.strictEqual((yield* sent).length, 2)
    }).pipe(Effect.provide(harness()))
  )
})

// The port is exercised above through the pipeline; this keeps the twin honest about the API's rules.
describe("TelegramGateway twin: sendMessageDraft", () => {
  it.effect("refuses draft id 0 and empty or over-long text, like the Bot API", () =>
    Effect.gen(function* () {
      const { token } = yield* addBot()
      const telegram = yield* TelegramGateway
      for (const input of [
        { chatId: 1, draftId: 0, text: "x" },
        { chatId: 1, draftId: 1, text: "" },
        { chatId: 1, draftId: 1, text: "x".repeat(4097) }
      ]) {
        const error = yield* Effect.flip(telegram.sendMessageDraft(token, input))
        assert.strictEqual(error.status, 400)
      }
      assert.deepStrictEqual(yield* drafts, [])
    }).pipe(Effect.provide(harness()))
  )
})
