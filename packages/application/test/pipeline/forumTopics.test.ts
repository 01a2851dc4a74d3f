/**
 * Forum topics on the memory twins: each topic is its own history, answers go
 * to their topic, and in groups they quote the message they answer.
 */
import { LanguageModelMemory, TelegramGatewayMemory } from "@botfleet/adapters"
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { addBot, harness, messagesOf, processUpdate } from "../harness.ts"

const { TelegramMemoryLog } = TelegramGatewayMemory
const { LanguageModelMemoryControl } = LanguageModelMemory

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

const sentToForum = TelegramMemoryLog.use((log) => log.sentTo(FORUM_ID))
const llmRequests = LanguageModelMemoryControl.use((control) => control.requests)

describe("forum topics", () => {
  it.effect("each topic reads only its own messages; the answer goes to it, quoting the question", () =>
    Effect.gen(function* () {
      const { bot } = yield* addBot({ telegramId: 700_001, username: "helper_bot" })
      yield* processUpdate(bot, inTopic(1, 7, "lunch at noon?"))
      yield* processUpdate(bot, inTopic(2, 9, "release on friday"))
      yield* processUpdate(bot, inTopic(3, 9, "@helper_bot is friday fine?"))
      yield* processUpdate(bot, inTopic(4, 7, "@helper_bot where?"))
      const requests = yield* llmRequests
      assert.deepStrictEqual(
        requests.map((request) => request.messages.map((message) => message.content)),
        [
          ["Ada: release on friday", "Ada: @helper_bot is friday fine?"],
          ["Ada: lunch at noon?", "Ada: @helper_bot where?"]
        ]
      )
      assert.deepStrictEqual(
        (yield* sentToForum).map((message) => [message.topicId, message.replyToMessageId]),
        [
          [9, 103],
          [7, 104]
        ]
      )
    }).pipe(Effect.provide(harness()))
  )

  it.effect("a command button pressed in a topic answers in that topic", () =>
    Effect.gen(function* () {
      const { bot } = yield* addBot({ telegramId: 700_001, username: "helper_bot" })
      yield* processUpdate(bot, {
        update_id: 1,
        callback_query: {
          id: "press-1",
          from: ADA,
          chat_instance: "instance-1",
          data: "help",
          message: {
            message_id: 40,
            date: 1_700_000_000,
            chat: forum,
            text: "pick one",
            message_thread_id: 9,
            is_topic_message: true
          }
        }
      })
      const sent = yield* sentToForum
      assert.deepStrictEqual(
        sent.map((message) => [message.text, message.topicId]),
        [[bot.helpMessage, 9]]
      )
      const stored = yield* messagesOf(bot, FORUM_ID)
      assert.deepStrictEqual(
        stored.map((message) => message.topicId),
        [9, 9]
      )
    }).pipe(Effect.provide(harness()))
  )

  it.effect("a thread id without is_topic_message (a reply in a plain group) is no topic", () =>
    Effect.gen(function* () {
      const { bot } = yield* addBot({ telegramId: 700_001, username: "helper_bot" })
      const update = inTopic(1, 55, "@helper_bot hi")
      yield* processUpdate(bot, { ...update, message: { ...update.message, is_topic_message: false } })
      const sent = yield* sentToForum
      assert.strictEqual(sent.length, 1)
      assert.isUndefined(sent[0]!.topicId)
      assert.strictEqual(sent[0]!.replyToMessageId, 101)
    }).pipe(Effect.provide(harness()))
  )

  it.effect("a private chat with topics answers in the topic, without quoting", () =>
    Effect.gen(function* () {
      const { bot } = yield* addBot({ telegramId: 700_001, username: "helper_bot" })
      const chat = { id: 5_001, type: "private", first_name: "Ada" }
      yield* processUpdate(bot, {
        update_id: 1,
        message: {
          message_id: 10,
          date: 1_700_000_000,
          chat,
          from: ADA,
          text: "hello",
          message_thread_id: 3,
          is_topic_message: true
        }
      })
      const sent = yield* TelegramMemoryLog.use((log) => log.sentTo(5_001))
      assert.deepStrictEqual(
        sent.map((message) => [message.topicId, message.replyToMessageId]),
        [[3, null]]
      )
    }).pipe(Effect.provide(harness()))
  )
})
