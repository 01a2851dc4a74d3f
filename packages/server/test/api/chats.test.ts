/**
 * Chats and messages through the admin API: chats appear as people write,
 * filter and page, show their user; messages come newest first; an admin
 * answers as the bot, Telegram gets it, and the model sees it afterwards.
 */
import type { Bot } from "@botfleet/domain"
import { assert, layer } from "@effect/vitest"
import { Effect, type Schema } from "effect"
import { ChatView, MessageView, page } from "../../src/api/schemas.ts"
import {
  type ApiClient,
  expectBody,
  expectError,
  loggedIn,
  unknownId,
  withAdmin
} from "../support/apiClient.ts"
import {
  eventually,
  postUpdate,
  layer as serverLayer,
  settled,
  TestServer,
  textUpdate
} from "../support/inProcessServer.ts"

interface Page<A> {
  readonly items: ReadonlyArray<A>
  readonly nextCursor: string | null
}

const ChatPage = page(ChatView)
const MessagePage = page(MessageView)

/** A user writes to the bot; waits until the bot's answer reached Telegram. */
const say = (server: TestServer["Service"], bot: Bot, chatId: number, text: string) =>
  Effect.gen(function* () {
    const response = yield* postUpdate(server.baseUrl, bot, textUpdate(chatId, text))
    assert.strictEqual(response.status, 200)
    yield* eventually(() => server.telegram.sentTo(chatId).some((sent) => sent.text === `reply to: ${text}`))
    yield* settled(server, bot.id)
  })

const chatsAt = (api: ApiClient, query: string) =>
  Effect.map(api.get(`/api/chats?${query}`), (response) => expectBody(response, 200, ChatPage))

/** Follows `nextCursor` from the first page to the last; returns every item in order. */
const walk = <A extends { readonly id: string }>(
  api: ApiClient,
  path: string,
  schema: Schema.Codec<Page<A>, unknown>
) =>
  Effect.gen(function* () {
    const items: Array<A> = []
    let cursor: string | null = null
    for (let pages = 0; pages < 50; pages++) {
      const separator = path.includes("?") ? "&" : "?"
      const url: string = `${path}${separator}limit=1${cursor === null ? "" : `&cursor=${encodeURIComponent(cursor)}`}`
      const current: Page<A> = expectBody(yield* api.get(url), 200, schema)
      assert.isAtMost(current.items.length, 1)
      items.push(...current.items)
      if (current.nextCursor === null) return items
      cursor = current.nextCursor
    }
    return assert.fail("pagination did not end")
  })

const chatOf = (api: ApiClient, botId: string, telegramChatId: number) =>
  Effect.map(chatsAt(api, `botId=${botId}`), (found) => {
    const chat = found.items.find((item) => item.telegramChatId === telegramChatId)
    assert.isDefined(chat, `chat ${telegramChatId} of bot ${botId}`)
    return chat!
  })

layer(serverLayer(withAdmin(), { recordLlmRequests: true }), { timeout: 60_000, excludeTestServices: true })(
  "chats API",
  (it) => {
    it.effect("chats appear as people write; filters by bot and by Telegram user", () =>
      Effect.gen(function* () {
        const server = yield* TestServer
        const api = yield* loggedIn(server.baseUrl)
        const { bot: first } = yield* server.addBot("FilterA")
        const { bot: second } = yield* server.addBot("FilterB")
        // Private chats: the chat id is the user's id, so user 8101 has a chat with each bot.
        yield* say(server, first, 8101, "hi A")
        yield* say(server, first, 8102, "hi A too")
        yield* Effect.gen(function* () {
          const response = yield* postUpdate(server.baseUrl, second, textUpdate(8101, "hi B"))
          assert.strictEqual(response.status, 200)
          yield* eventually(() => server.telegram.sentTo(8101).some((sent) => sent.text === "reply to: hi B"))
        })

        const ofFirst = yield* chatsAt(api, `botId=${first.id}`)
        assert.sameMembers(
          ofFirst.items.map((chat) => chat.telegramChatId),
          [8101, 8102]
        )
        assert.isTrue(ofFirst.items.every((chat) => chat.botId === first.id))
        assert.isNull(ofFirst.nextCursor)

        const ofUser = yield* chatsAt(api, "userId=8101")
        assert.sameMembers(
          ofUser.items.map((chat) => chat.botId),
          [first.id, second.id]
        )
        assert.isTrue(ofUser.items.every((chat) => chat.user?.telegramId === 8101))

        const both = yield* chatsAt(api, `botId=${second.id}&userId=8101`)
        assert.deepStrictEqual(
          both.items.map((chat) => [chat.botId, chat.telegramChatId]),
          [[second.id, 8101]]
        )
        assert.deepStrictEqual((yield* chatsAt(api, `botId=${unknownId}`)).items, [])
        assert.isAtLeast((yield* chatsAt(api, "")).items.length, 3)

        assert.include(
          expectError(yield* api.get("/api/chats?botId=nope"), 400, "invalid_request"),
          "query.botId:"
        )
        assert.include(
          expectError(yield* api.get("/api/chats?userId=ann"), 400, "invalid_request"),
          "query.userId:"
        )
      })
    )

    it.effect(
      "a group chat has its title and no single user; userId finds private chats only; 64-bit ids",
      () =>
        Effect.gen(function* () {
          const server = yield* TestServer
          const api = yield* loggedIn(server.baseUrl)
          const { bot } = yield* server.addBot("Grouped")
          const update = {
            update_id: 870001,
            message: {
              message_id: 1,
              date: Math.floor(Date.now() / 1000),
              chat: { id: -1001234567890, type: "supergroup", title: "Team room" },
              from: { id: 8701, is_bot: false, first_name: "Bo" },
              text: "/help"
            }
          }
          assert.strictEqual((yield* postUpdate(server.baseUrl, bot, update)).status, 200)
          yield* settled(server, bot.id)

          // Telegram's ids outgrow 32 bits: supergroups are -100…, newer users above 2^32.
          const bigUser = 7_000_008_702
          yield* say(server, bot, bigUser, "my id is large")

          const group = (yield* chatsAt(api, `botId=${bot.id}`)).items.find(
            (chat) => chat.type === "supergroup"
          )
          assert.strictEqual(group?.telegramChatId, -1001234567890)
          assert.strictEqual(group?.type, "supergroup")
          assert.strictEqual(group?.title, "Team room")
          assert.isNull(group?.user)
          assert.deepStrictEqual((yield* chatsAt(api, "userId=8701")).items, [])
          const [big] = (yield* chatsAt(api, `userId=${bigUser}`)).items
          assert.strictEqual(big?.telegramChatId, bigUser)
          assert.strictEqual(big?.user?.telegramId, bigUser)
        })
    )

    it.effect("limit=1 walks every chat once, most recent first; a forged cursor or a bad limit is 400", () =>
      Effect.gen(function* () {
        const server = yield* TestServer
        const api = yield* loggedIn(server.baseUrl)
        const { bot } = yield* server.addBot("Paged")
        for (const chatId of [8201, 8202, 8203, 8204]) yield* say(server, bot, chatId, `hello from ${chatId}`)

        const walked = yield* walk(api, `/api/chats?botId=${bot.id}`, ChatPage)
        assert.deepStrictEqual(
          walked.map((chat) => chat.telegramChatId),
          [8204, 8203, 8202, 8201],
          "every chat once, the one written to last first"
        )
        assert.strictEqual(new Set(walked.map((chat) => chat.id)).size, 4)
        const all = yield* chatsAt(api, `botId=${bot.id}`)
        assert.deepStrictEqual(
          walked.map((chat) => chat.id),
          all.items.map((chat) => chat.id)
        )

        const forged = Buffer.from(JSON.stringify({ offset: 2 })).toString("base64url")
        for (const cursor of ["forged", forged]) {
          expectError(yield* api.get(`/api/chats?cursor=${cursor}`), 400, "invalid_cursor")
        }
        for (const limit of ["0", "201", "1.5", "many"]) {
          const response = yield* api.get(`/api/chats?limit=${limit}`)
          assert.include(expectError(response, 400, "invalid_request"), "query.limit:", `limit=${limit}`)
        }
      })
    )

    it.effect("a chat shows its Telegram user; an unknown chat is 404, not an id 400", () =>
      Effect.gen(function* () {
        const server = yield* TestServer
        const api = yield* loggedIn(server.baseUrl)
        const { bot } = yield* server.addBot("Profile")
        yield* say(server, bot, 8301, "who am I?")
        const listed = yield* chatOf(api, bot.id, 8301)

        const chat = expectBody(yield* api.get(`/api/chats/${listed.id}`), 200, ChatView)
        assert.strictEqual(chat.id, listed.id)
        assert.strictEqual(chat.botId, bot.id)
        assert.strictEqual(chat.type, "private")
        assert.deepStrictEqual(chat.user, {
          telegramId: 8301,
          firstName: "Ann",
          lastName: null,
          username: null,
          languageCode: "en"
        })
        assert.isNotNull(chat.lastMessageAt)

        expectError(yield* api.get(`/api/chats/${unknownId}`), 404, "chat_not_found")
        expectError(yield* api.get(`/api/chats/${unknownId}/messages`), 404, "chat_not_found")
        expectError(yield* api.get("/api/chats/8301"), 400, "invalid_request")
      })
    )

    it.effect("messages come newest first and page with limit and cursor", () =>
      Effect.gen(function* () {
        const server = yield* TestServer
        const api = yield* loggedIn(server.baseUrl)
        const { bot } = yield* server.addBot("Historian")
        yield* say(server, bot, 8401, "first question")
        yield* say(server, bot, 8401, "second question")
        const chat = yield* chatOf(api, bot.id, 8401)

        const newest = expectBody(yield* api.get(`/api/chats/${chat.id}/messages`), 200, MessagePage)
        assert.deepStrictEqual(
          newest.items.map((message) => [message.role, message.text]),
          [
            ["assistant", "reply to: second question"],
            ["user", "second question"],
            ["assistant", "reply to: first question"],
            ["user", "first question"]
          ]
        )
        assert.isNull(newest.nextCursor)
        const times = newest.items.map((message) => Date.parse(message.createdAt))
        assert.deepStrictEqual(
          times,
          [...times].sort((a, b) => b - a)
        )
        const reply = newest.items[0]!
        assert.strictEqual(reply.status, "sent")
        assert.strictEqual(reply.chatId, chat.id)
        assert.strictEqual(reply.replyTo, newest.items[1]!.id)
        assert.isAbove(reply.inputTokens, 0)
        assert.strictEqual(reply.telegramMessageIds.length, 1)

        const walked = yield* walk(api, `/api/chats/${chat.id}/messages`, MessagePage)
        assert.deepStrictEqual(
          walked.map((message) => message.id),
          newest.items.map((message) => message.id)
        )
        const firstThree = expectBody(
          yield* api.get(`/api/chats/${chat.id}/messages?limit=3`),
          200,
          MessagePage
        )
        assert.strictEqual(firstThree.items.length, 3)
        assert.isNotNull(firstThree.nextCursor)
        const rest = expectBody(
          yield* api.get(`/api/chats/${chat.id}/messages?limit=3&cursor=${firstThree.nextCursor}`),
          200,
          MessagePage
        )
        assert.deepStrictEqual(
          rest.items.map((message) => message.id),
          [newest.items[3]!.id]
        )
        assert.isNull(rest.nextCursor)

        expectError(yield* api.get(`/api/chats/${chat.id}/messages?cursor=forged`), 400, "invalid_cursor")
        expectError(yield* api.get(`/api/chats/${chat.id}/messages?limit=0`), 400, "invalid_request")
      })
    )

    it.effect(
      "an admin's message is 202, reaches Telegram, becomes sent, and the model sees it next time",
      () =>
        Effect.gen(function* () {
          const server = yield* TestServer
          const api = yield* loggedIn(server.baseUrl)
          const { bot } = yield* server.addBot("Supervised")
          yield* say(server, bot, 8501, "is anyone there?")
          const chat = yield* chatOf(api, bot.id, 8501)
          const text = "A human here: yes, I can help with that."

          const queued = expectBody(
            yield* api.post(`/api/chats/${chat.id}/messages`, { text }),
            202,
            MessageView
          )
          assert.strictEqual(queued.role, "admin")
          assert.strictEqual(queued.text, text)
          assert.strictEqual(queued.chatId, chat.id)
          assert.include(["pending", "sent"], queued.status)

          const delivered = yield* eventually(() =>
            server.telegram.sentTo(8501).find((sent) => sent.text === text)
          )
          assert.strictEqual(delivered.botId, Number(bot.telegramBotId))
          yield* settled(server, bot.id)
          const listed = expectBody(yield* api.get(`/api/chats/${chat.id}/messages`), 200, MessagePage)
          const stored = listed.items.find((message) => message.id === queued.id)
          assert.isDefined(stored)
          assert.strictEqual(stored!.status, "sent")
          assert.deepStrictEqual(stored!.telegramMessageIds, [delivered.messageId])
          assert.isNotNull(stored!.sentAt)
          assert.strictEqual(listed.items[0]!.id, queued.id, "the newest message")

          yield* say(server, bot, 8501, "great, thanks")
          const requests = yield* server.openai.requests
          const asked = requests.findLast((request) => request.messages.at(-1)?.content === "great, thanks")
          assert.isDefined(asked, "the model was asked about the follow-up")
          assert.deepStrictEqual(asked!.messages.slice(-4), [
            { role: "user", content: "is anyone there?" },
            { role: "assistant", content: "reply to: is anyone there?" },
            { role: "assistant", content: text },
            { role: "user", content: "great, thanks" }
          ])
          assert.strictEqual(
            server.telegram.sentTo(8501).filter((sent) => sent.text === text).length,
            1,
            "sent once"
          )
        })
    )

    it.effect("sending to an unknown chat is 404; an empty or missing text is 400", () =>
      Effect.gen(function* () {
        const server = yield* TestServer
        const api = yield* loggedIn(server.baseUrl)
        const { bot } = yield* server.addBot("Quiet")
        yield* say(server, bot, 8601, "hello")
        const chat = yield* chatOf(api, bot.id, 8601)

        expectError(
          yield* api.post(`/api/chats/${unknownId}/messages`, { text: "hi" }),
          404,
          "chat_not_found"
        )
        const empty = yield* api.post(`/api/chats/${chat.id}/messages`, { text: "" })
        assert.include(expectError(empty, 400, "invalid_request"), "body.text:")
        const missing = yield* api.post(`/api/chats/${chat.id}/messages`, {})
        assert.include(expectError(missing, 400, "invalid_request"), "body.text:")
        const messages = expectBody(yield* api.get(`/api/chats/${chat.id}/messages`), 200, MessagePage)
        assert.isFalse(
          messages.items.some((message) => message.role === "admin"),
          "nothing stored"
        )
      })
    )
  }
)
