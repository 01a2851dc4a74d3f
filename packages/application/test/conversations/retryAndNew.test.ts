/**
 * /retry and /new on the memory twins: the replaced answer stays in the
 * transcript but leaves the model's history; a failure between storing the
 * new answer and sending it (a crash, as far as the pipeline can tell) gives
 * one answer, not two; /new in a forum topic moves only that topic on.
 */
import { LanguageModelMemory, TelegramGatewayMemory } from "@botfleet/adapters"
import { englishTexts, REFRESH_REPLY } from "@botfleet/domain"
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { addBot, harness, messagesOf, processUpdate, textUpdate } from "../harness.ts"

const { TelegramErrors, TelegramMemoryLog } = TelegramGatewayMemory
const { LanguageModelMemoryControl } = LanguageModelMemory

const llmRequests = LanguageModelMemoryControl.use((control) => control.requests)
const contentsOf = (
  request: { readonly messages: ReadonlyArray<{ readonly content: string }> } | undefined
) => request?.messages.map((message) => message.content)
const sentTexts = TelegramMemoryLog.use((log) =>
  Effect.map(log.sentMessages, (sent) => sent.map((message) => message.text))
)

describe("/retry", () => {
  it.effect(
    "answers the last question again; the old answer stays, marked replaced, out of later history",
    () =>
      Effect.gen(function* () {
        const { bot } = yield* addBot()
        yield* processUpdate(bot, textUpdate(1, "hello"))
        yield* processUpdate(bot, textUpdate(2, "/retry"))
        const requests = yield* llmRequests
        assert.strictEqual(requests.length, 2)
        // The model reads the question again, without the answer it replaces or the /retry.
        assert.deepStrictEqual(contentsOf(requests[1]), ["hello"])
        assert.deepStrictEqual(yield* sentTexts, ["echo: hello", "echo: hello"])

        const stored = yield* messagesOf(bot)
        assert.deepStrictEqual(
          stored.map((message) => [message.role, message.text, message.replacedAt !== null]),
          [
            ["user", "hello", false],
            ["assistant", "echo: hello", true],
            ["user", "/retry", true],
            ["assistant", "echo: hello", false]
          ]
        )
        assert.strictEqual(stored[3]!.replyTo, stored[2]!.id)

        // Later questions read one answer to "hello", the new one.
        yield* processUpdate(bot, textUpdate(3, "next"))
        assert.deepStrictEqual(contentsOf((yield* llmRequests)[2]), ["hello", "echo: hello", "next"])

        // A second /retry replaces the first one's answer and asks the same question.
        yield* processUpdate(bot, textUpdate(4, "/retry"))
        assert.deepStrictEqual(contentsOf((yield* llmRequests)[3]), ["hello", "echo: hello", "next"])
        const after = yield* messagesOf(bot)
        assert.deepStrictEqual(
          after.filter((message) => message.replacedAt === null).map((message) => message.text),
          ["hello", "echo: hello", "next", "echo: next"]
        )
      }).pipe(Effect.provide(harness()))
  )

  it.effect("with nothing asked yet it says so, without the model", () =>
    Effect.gen(function* () {
      const { bot } = yield* addBot()
      yield* processUpdate(bot, textUpdate(1, "/start"))
      yield* processUpdate(bot, textUpdate(2, "/retry"))
      assert.strictEqual((yield* llmRequests).length, 0)
      assert.deepStrictEqual((yield* sentTexts).slice(1), [englishTexts.text("retry.nothing")])
    }).pipe(Effect.provide(harness()))
  )

  it.effect(
    "a send that fails after the new answer is stored: the rerun sends it, one answer, one model call",
    () =>
      Effect.gen(function* () {
        const { bot } = yield* addBot()
        yield* processUpdate(bot, textUpdate(1, "hello"))
        yield* TelegramMemoryLog.use((log) =>
          log.failNext("sendMessage", TelegramErrors.unavailable("sendMessage"))
        )
        const error = yield* Effect.flip(processUpdate(bot, textUpdate(2, "/retry")))
        assert.strictEqual(error._tag, "RetryLater")
        yield* processUpdate(bot, textUpdate(2, "/retry"))
        assert.strictEqual((yield* llmRequests).length, 2)
        assert.deepStrictEqual(yield* sentTexts, ["echo: hello", "echo: hello"])
        const replies = (yield* messagesOf(bot)).filter((message) => message.role === "assistant")
        assert.deepStrictEqual(
          replies.map((message) => [message.status, message.replacedAt !== null]),
          [
            ["sent", true],
            ["sent", false]
          ]
        )
      }).pipe(Effect.provide(harness()))
  )

  it.effect(
    "a model failure after the old answer was marked: the rerun asks the same question once more",
    () =>
      Effect.gen(function* () {
        const { bot } = yield* addBot()
        yield* processUpdate(bot, textUpdate(1, "hello"))
        yield* LanguageModelMemoryControl.use((control) => control.failNext("timeout"))
        const error = yield* Effect.flip(processUpdate(bot, textUpdate(2, "/retry")))
        assert.strictEqual(error._tag, "RetryLater")
        yield* processUpdate(bot, textUpdate(2, "/retry"))
        const requests = yield* llmRequests
        assert.deepStrictEqual(contentsOf(requests[requests.length - 1]), ["hello"])
        assert.deepStrictEqual(yield* sentTexts, ["echo: hello", "echo: hello"])
      }).pipe(Effect.provide(harness()))
  )
})

const FORUM_ID = -100_300
const ADA = { id: 5_001, is_bot: false, first_name: "Ada" }
const forum = { id: FORUM_ID, type: "supergroup", title: "Forum", is_forum: true }
const inTopic = (updateId: number, topic: number | null, text: string) => ({
  update_id: updateId,
  message: {
    message_id: 100 + updateId,
    date: 1_700_000_000,
    chat: forum,
    from: ADA,
    text,
    ...(topic === null ? {} : { message_thread_id: topic, is_topic_message: true })
  }
})

describe("/new", () => {
  it.effect(
    "/new is /refresh; in a forum topic it forgets that topic only, and outside topics none of them",
    () =>
      Effect.gen(function* () {
        const { bot } = yield* addBot({ username: "helper_bot", groupMode: "all" })
        yield* processUpdate(bot, inTopic(1, 7, "seven one"))
        yield* processUpdate(bot, inTopic(2, 9, "nine one"))
        yield* processUpdate(bot, inTopic(3, null, "general one"))
        yield* processUpdate(bot, inTopic(4, 7, "/new"))
        yield* processUpdate(bot, inTopic(5, null, "/refresh@helper_bot"))
        yield* processUpdate(bot, inTopic(6, 7, "seven two"))
        yield* processUpdate(bot, inTopic(7, 9, "nine two"))
        yield* processUpdate(bot, inTopic(8, null, "general two"))
        const requests = (yield* llmRequests).slice(3)
        assert.deepStrictEqual(
          requests.map((request) => contentsOf(request)),
          [
            ["Ada: seven two"],
            ["Ada: nine one", "echo: Ada: nine one", "Ada: nine two"],
            ["Ada: general two"]
          ]
        )
        const sent = yield* sentTexts
        assert.strictEqual(sent.filter((text) => text === REFRESH_REPLY).length, 2)
      }).pipe(Effect.provide(harness()))
  )
})
