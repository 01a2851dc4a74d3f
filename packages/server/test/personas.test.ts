/**
 * Personas, /retry and /new end to end, on the real server (PostgreSQL) with
 * the wire-level fakes: personas set through the admin API, /mode answered
 * with buttons, a press switching the persona, the next question reaching
 * the model with the persona's prompt and model; /retry's replaced answer in
 * the admin message view; /new in one forum topic leaving the other alone.
 */
import { assert, layer } from "@effect/vitest"
import { Effect } from "effect"
import { loggedIn, withAdmin } from "./support/apiClient.ts"
import {
  postUpdate,
  layer as serverLayer,
  settled,
  TestServer,
  textUpdate
} from "./support/inProcessServer.ts"

const personas = [
  { key: "tutor", name: "Tutor", systemPrompt: "Explain step by step.", model: "tutor-model" },
  { key: "poet", name: "Poet", systemPrompt: "Answer in verse." }
]

let nextUpdateId = 10_000

const press = (chatId: number, data: string, topic: number | null = null) => ({
  update_id: nextUpdateId++,
  callback_query: {
    id: `press-${nextUpdateId}`,
    from: { id: topic === null ? chatId : 42, is_bot: false, first_name: "Ann" },
    chat_instance: "instance-1",
    data,
    message: {
      message_id: 1,
      date: Math.floor(Date.now() / 1000),
      chat:
        topic === null
          ? { id: chatId, type: "private", first_name: "Ann" }
          : { id: chatId, type: "supergroup", title: "Forum", is_forum: true },
      text: "choose",
      ...(topic === null ? {} : { message_thread_id: topic, is_topic_message: true })
    }
  }
})

const FORUM = { id: -100_770_001, type: "supergroup", title: "Forum", is_forum: true }
const inTopic = (text: string, topic: number) => ({
  update_id: nextUpdateId++,
  message: {
    message_id: nextUpdateId,
    date: Math.floor(Date.now() / 1000),
    chat: FORUM,
    from: { id: 42, is_bot: false, first_name: "Ann" },
    text,
    message_thread_id: topic,
    is_topic_message: true
  }
})

interface ChatItem {
  readonly id: string
  readonly telegramChatId: number
  readonly conversations: ReadonlyArray<{ topicId: number | null; persona: string | null; thread: number }>
}

layer(serverLayer(withAdmin(), { recordLlmRequests: true }), { timeout: 60_000, excludeTestServices: true })(
  "personas, /retry and /new",
  (it) => {
    it.effect("/mode through its buttons, then a question reaches the model as the chosen persona", () =>
      Effect.gen(function* () {
        const server = yield* TestServer
        const api = yield* loggedIn(server.baseUrl)
        const { bot } = yield* server.addBot("Personas")
        const patched = yield* api.patch(`/api/bots/${bot.id}`, { personas, systemPrompt: "Be brief." })
        assert.strictEqual(patched.status, 200)
        yield* server.openai.clear
        const chatId = 880_001
        const send = (update: { readonly update_id: number }) =>
          Effect.gen(function* () {
            assert.strictEqual((yield* postUpdate(server.baseUrl, bot, update)).status, 200)
            yield* settled(server, bot.id)
          })

        yield* send(textUpdate(chatId, "/mode"))
        const shown = server.telegram.sentTo(chatId).at(-1)!
        assert.deepStrictEqual(
          shown.buttons.map((button) => button.data),
          ["mode:tutor", "mode:poet"]
        )
        assert.deepStrictEqual(
          shown.buttons.map((button) => button.text),
          ["Tutor", "Poet"]
        )

        yield* send(press(chatId, "mode:tutor"))
        assert.strictEqual(server.telegram.callbackAnswers.at(-1)?.text, "Now answering as Tutor.")

        yield* send(textUpdate(chatId, "what is 2+2?"))
        const request = (yield* server.openai.requests).at(-1)!
        assert.strictEqual(request.model, "tutor-model")
        assert.deepStrictEqual(request.messages[0], { role: "system", content: "Explain step by step." })

        // /mode marks the current one now.
        yield* send(textUpdate(chatId, "/mode"))
        assert.deepStrictEqual(
          server.telegram
            .sentTo(chatId)
            .at(-1)!
            .buttons.map((button) => button.text),
          ["✓ Tutor", "Poet"]
        )

        // Admins read the chat's choice in the chat view.
        const chats = (yield* api.get(`/api/chats?botId=${bot.id}`)).body as {
          items: ReadonlyArray<ChatItem>
        }
        const chat = chats.items.find((item) => item.telegramChatId === chatId)!
        assert.deepStrictEqual(chat.conversations, [{ topicId: null, persona: "tutor", thread: 1 }])

        // Locked by the admin: the default answers, whatever was chosen.
        assert.strictEqual(
          (yield* api.patch(`/api/bots/${bot.id}`, { defaultPersona: "poet", personaLocked: true })).status,
          200
        )
        yield* send(textUpdate(chatId, "and now?"))
        assert.deepStrictEqual((yield* server.openai.requests).at(-1)!.messages[0], {
          role: "system",
          content: "Answer in verse."
        })
      })
    )

    it.effect("bodies with two personas of one key, 21 personas or a bad key are refused with 400", () =>
      Effect.gen(function* () {
        const server = yield* TestServer
        const api = yield* loggedIn(server.baseUrl)
        const { bot } = yield* server.addBot("PersonaRules")
        const twice = yield* api.patch(`/api/bots/${bot.id}`, { personas: [personas[0], personas[0]] })
        assert.strictEqual(twice.status, 400)
        const many = Array.from({ length: 21 }, (_, i) => ({ key: `p${i}`, name: `P${i}`, systemPrompt: "" }))
        assert.strictEqual((yield* api.patch(`/api/bots/${bot.id}`, { personas: many })).status, 400)
        const badKey = [{ key: "Not OK", name: "x", systemPrompt: "" }]
        assert.strictEqual((yield* api.patch(`/api/bots/${bot.id}`, { personas: badKey })).status, 400)
        assert.strictEqual(
          (yield* api.patch(`/api/bots/${bot.id}`, { defaultPersona: "Not OK" })).status,
          400
        )
        const view = (yield* api.get(`/api/bots/${bot.id}`)).body as { personas: ReadonlyArray<unknown> }
        assert.deepStrictEqual(view.personas, [])
      })
    )

    it.effect(
      "/retry: the old answer shows replaced in the message view and the model reads the question again",
      () =>
        Effect.gen(function* () {
          const server = yield* TestServer
          const api = yield* loggedIn(server.baseUrl)
          const { bot } = yield* server.addBot("Retry")
          let answers = 0
          yield* server.openai.setReply(() => `answer ${++answers}`)
          yield* server.openai.clear
          const chatId = 880_101
          for (const text of ["what is the capital of France?", "/retry"]) {
            assert.strictEqual((yield* postUpdate(server.baseUrl, bot, textUpdate(chatId, text))).status, 200)
            yield* settled(server, bot.id)
          }
          assert.deepStrictEqual(
            server.telegram.sentTo(chatId).map((message) => message.text),
            ["answer 1", "answer 2"]
          )
          const requests = yield* server.openai.requests
          assert.deepStrictEqual(
            requests.at(-1)!.messages.map((message) => message.content),
            ["what is the capital of France?"]
          )
          const chats = (yield* api.get(`/api/chats?botId=${bot.id}`)).body as {
            items: ReadonlyArray<ChatItem>
          }
          const page = (yield* api.get(`/api/chats/${chats.items[0]!.id}/messages`)).body as {
            items: ReadonlyArray<{ text: string; replacedAt: string | null }>
          }
          assert.deepStrictEqual(
            page.items.toReversed().map((message) => [message.text, message.replacedAt !== null]),
            [
              ["what is the capital of France?", false],
              ["answer 1", true],
              ["/retry", true],
              ["answer 2", false]
            ]
          )
        })
    )

    it.effect("/new in a forum topic forgets that topic only", () =>
      Effect.gen(function* () {
        const server = yield* TestServer
        const { bot } = yield* server.addBot("ForumNew")
        yield* server.openai.setReply((request) => `re: ${request.messages.at(-1)?.content ?? ""}`)
        const mention = `@${bot.username}`
        const say = (text: string, topic: number) =>
          Effect.gen(function* () {
            assert.strictEqual((yield* postUpdate(server.baseUrl, bot, inTopic(text, topic))).status, 200)
            yield* settled(server, bot.id)
          })
        yield* say(`${mention} apples are red`, 11)
        yield* say(`${mention} bananas are yellow`, 22)
        yield* server.openai.clear
        yield* say(`/new${mention}`, 11)
        yield* say(`${mention} what do you know?`, 11)
        yield* say(`${mention} what do you know?`, 22)
        const requests = (yield* server.openai.requests).map((request) =>
          request.messages.map((message) => message.content).join("\n")
        )
        assert.strictEqual(requests.length, 2, "/new asks no model")
        assert.notInclude(requests[0]!, "apples")
        assert.include(requests[1]!, "bananas are yellow")
        const sent = server.telegram.sentTo(FORUM.id)
        assert.deepStrictEqual(
          sent
            .filter((message) => message.text.startsWith("Started a new conversation"))
            .map((m) => m.topicId),
          [11]
        )
      })
    )

    it.effect("a /mode button pressed in a topic switches that topic only", () =>
      Effect.gen(function* () {
        const server = yield* TestServer
        const api = yield* loggedIn(server.baseUrl)
        const { bot } = yield* server.addBot("ForumMode")
        assert.strictEqual((yield* api.patch(`/api/bots/${bot.id}`, { personas })).status, 200)
        yield* server.openai.clear
        const mention = `@${bot.username}`
        for (const update of [
          press(FORUM.id, "mode:poet", 33),
          inTopic(`${mention} hi`, 33),
          inTopic(`${mention} hi`, 44)
        ]) {
          assert.strictEqual((yield* postUpdate(server.baseUrl, bot, update)).status, 200)
          yield* settled(server, bot.id)
        }
        const requests = yield* server.openai.requests
        assert.deepStrictEqual(requests.at(-2)!.messages[0], { role: "system", content: "Answer in verse." })
        assert.notStrictEqual(requests.at(-1)!.messages[0]?.content, "Answer in verse.")
      })
    )
  }
)
