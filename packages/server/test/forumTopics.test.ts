/**
 * Forum topics end to end, on the real server with the wire-level fakes: a
 * supergroup with two topics, each answered in its own topic, quoting the
 * message it answers, from a history of that topic alone; admins see the
 * topic of every message.
 */
import { assert, layer } from "@effect/vitest"
import { Effect } from "effect"
import { loggedIn, withAdmin } from "./support/apiClient.ts"
import { postUpdate, layer as serverLayer, settled, TestServer } from "./support/inProcessServer.ts"

const FORUM = { id: -100_880_001, type: "supergroup", title: "Forum", is_forum: true }
const APPLES = 11
const BANANAS = 22
let nextUpdateId = 1

const forumMessage = (text: string, topic: { readonly thread: number; readonly isTopic: boolean } | null) => {
  const updateId = nextUpdateId++
  return {
    update_id: updateId,
    message: {
      message_id: 500 + updateId,
      date: Math.floor(Date.now() / 1000),
      chat: FORUM,
      from: { id: 42, is_bot: false, first_name: "Ann" },
      text,
      ...(topic === null ? {} : { message_thread_id: topic.thread, is_topic_message: topic.isTopic })
    }
  }
}

layer(serverLayer(withAdmin(), { recordLlmRequests: true }), { timeout: 60_000, excludeTestServices: true })(
  "forum topics",
  (it) => {
    it.effect(
      "each topic is answered in its topic, quoting the question, from that topic's history only",
      () =>
        Effect.gen(function* () {
          const server = yield* TestServer
          const api = yield* loggedIn(server.baseUrl)
          const { bot } = yield* server.addBot("Forum")
          const mention = `@${bot.username}`
          // Each answer names the question it was given, so the history can be traced.
          yield* server.openai.setReply((request) => `re: ${request.messages.at(-1)?.content ?? ""}`)
          yield* server.openai.clear

          const say = (text: string, topic: { readonly thread: number; readonly isTopic: boolean } | null) =>
            Effect.gen(function* () {
              const update = forumMessage(text, topic)
              assert.strictEqual((yield* postUpdate(server.baseUrl, bot, update)).status, 200)
              yield* settled(server, bot.id)
              return update.message.message_id
            })

          const apples1 = yield* say(`${mention} apples are red`, { thread: APPLES, isTopic: true })
          const bananas1 = yield* say(`${mention} bananas are yellow`, { thread: BANANAS, isTopic: true })
          const apples2 = yield* say(`${mention} what colour were they?`, { thread: APPLES, isTopic: true })
          // A reply outside topics carries the thread id of the message it replies to: it is no topic.
          const general = yield* say(`${mention} hello all`, { thread: apples1, isTopic: false })

          const sent = server.telegram.sentTo(FORUM.id)
          assert.deepStrictEqual(
            sent.map((message) => [
              message.topicId,
              message.replyToMessageId,
              message.allowSendingWithoutReply
            ]),
            [
              [APPLES, apples1, true],
              [BANANAS, bananas1, true],
              [APPLES, apples2, true],
              [null, general, true]
            ]
          )

          const requests = yield* server.openai.requests
          assert.strictEqual(requests.length, 4)
          const userTexts = requests.map((request) =>
            request.messages.filter((message) => message.role !== "system").map((message) => message.content)
          )
          // The second apples question reads the first and its answer, and nothing of bananas.
          const applesSecond = userTexts[2]!.join("\n")
          assert.include(applesSecond, "apples are red")
          assert.include(applesSecond, "re: ")
          assert.include(applesSecond, "what colour were they?")
          assert.notInclude(applesSecond, "bananas")
          assert.strictEqual(userTexts[2]!.length, 3, "question, answer, question: the apples topic only")
          // The bananas topic starts fresh: nothing of apples.
          assert.strictEqual(userTexts[1]!.length, 1)
          assert.include(userTexts[1]![0]!, "bananas are yellow")
          // General has its own history too.
          assert.strictEqual(userTexts[3]!.length, 1)
          assert.include(userTexts[3]![0]!, "hello all")

          // Admins see the topic of each message.
          const chats = (yield* api.get(`/api/chats?botId=${bot.id}`)).body as {
            items: ReadonlyArray<{ id: string; type: string }>
          }
          assert.strictEqual(chats.items.length, 1, "one chat: topics are not chats of their own")
          const page = (yield* api.get(`/api/chats/${chats.items[0]!.id}/messages`)).body as {
            items: ReadonlyArray<{ role: string; text: string; topicId: number | null }>
          }
          assert.deepStrictEqual(
            page.items.toReversed().map((message) => [message.role, message.topicId]),
            [
              ["user", APPLES],
              ["assistant", APPLES],
              ["user", BANANAS],
              ["assistant", BANANAS],
              ["user", APPLES],
              ["assistant", APPLES],
              ["user", null],
              ["assistant", null]
            ]
          )
        })
    )

    it.effect("while the model thinks, typing shows in the topic being answered", () =>
      Effect.gen(function* () {
        const server = yield* TestServer
        const { bot } = yield* server.addBot("SlowForum")
        yield* server.openai.setReply(() => "done")
        // Typing starts after a short delay: a slow model shows it.
        yield* server.openai.setLatency(2_500)
        const update = forumMessage(`@${bot.username} think hard`, { thread: BANANAS, isTopic: true })
        assert.strictEqual((yield* postUpdate(server.baseUrl, bot, update)).status, 200)
        yield* settled(server, bot.id)
        yield* server.openai.setLatency(0)
        const typing = server.telegram.chatActions.filter((action) => action.chatId === FORUM.id)
        assert.isAtLeast(typing.length, 1)
        for (const action of typing) assert.strictEqual(action.topicId, BANANAS)
      })
    )
  }
)
