/**
 * Failed replies through the admin API: a reply the model refused (401, not
 * retried) is stored as failed and listed; an admin retries it by hand and
 * the user then gets a real answer. Only failed messages can be retried.
 */

import type { Bot } from "@botfleet/domain"
import { FakeTelegram } from "@botfleet/testing"
import { assert, layer } from "@effect/vitest"
import { Effect } from "effect"
import { BotView, ChatView, FailureView, MessageView, page } from "../../src/api/schemas.ts"
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

const ChatPage = page(ChatView)
const MessagePage = page(MessageView)

/** A bot on a model of its own, so a scripted LLM failure hits only this test's bot. */
const botWithOwnModel = (server: TestServer["Service"], api: ApiClient, name: string) =>
  Effect.gen(function* () {
    const { bot } = yield* server.addBot(name)
    const model = `model-of-${name.toLowerCase()}`
    expectBody(yield* api.patch(`/api/bots/${bot.id}`, { model }), 200, BotView)
    return { bot, model }
  })

/** A user writes; waits until the bot answered something and everything is stored. */
const say = (server: TestServer["Service"], bot: Bot, chatId: number, text: string) =>
  Effect.gen(function* () {
    const sentBefore = server.telegram.sentTo(chatId).length
    assert.strictEqual((yield* postUpdate(server.baseUrl, bot, textUpdate(chatId, text))).status, 200)
    yield* eventually(() => server.telegram.sentTo(chatId).length > sentBefore)
    yield* settled(server, bot.id)
  })

const FailurePage = page(FailureView)

/** The failed messages of a bot, as GET /api/failures lists them (each a `message:<id>` failure). */
const failuresOf = (api: ApiClient, botId: string, extra = "") =>
  Effect.map(api.get(`/api/failures?botId=${botId}${extra}`), (response) => {
    const body = expectBody(response, 200, FailurePage)
    const items = body.items.map((failure) => {
      assert.strictEqual(failure.kind, "message")
      assert.isNotNull(failure.message)
      assert.strictEqual(failure.id, `message:${failure.message!.id}`)
      assert.strictEqual(failure.error, failure.message!.error)
      return failure.message!
    })
    return { items, nextCursor: body.nextCursor }
  })

const messagesOf = (api: ApiClient, botId: string, telegramChatId: number) =>
  Effect.gen(function* () {
    const chats = expectBody(yield* api.get(`/api/chats?botId=${botId}`), 200, ChatPage)
    const chat = chats.items.find((item) => item.telegramChatId === telegramChatId)
    assert.isDefined(chat)
    return expectBody(yield* api.get(`/api/chats/${chat!.id}/messages`), 200, MessagePage).items
  })

layer(serverLayer(withAdmin()), { timeout: 60_000, excludeTestServices: true })(
  "failed replies API",
  (it) => {
    it.effect("a reply the model refused is listed as failed; a retry answers the user for real", () =>
      Effect.gen(function* () {
        const server = yield* TestServer
        const api = yield* loggedIn(server.baseUrl)
        const { bot, model } = yield* botWithOwnModel(server, api, "Refused")
        // A 401 (bad API key) is not worth retrying: the reply fails at once.
        yield* server.openai.failNext({ status: 401, model })
        yield* say(server, bot, 9101, "please answer")
        const apology = server.telegram.sentTo(9101).at(-1)
        assert.strictEqual(apology?.text, bot.errorMessage, "the user is told something went wrong")

        const failures = yield* failuresOf(api, bot.id)
        assert.strictEqual(failures.items.length, 1)
        const failed = failures.items[0]!
        assert.strictEqual(failed.role, "assistant")
        assert.strictEqual(failed.status, "failed")
        assert.isNotNull(failed.error)
        assert.notInclude(failed.error!, "sk-test-key", "the error does not repeat the API key")
        const question = (yield* messagesOf(api, bot.id, 9101)).find((message) => message.role === "user")
        assert.strictEqual(failed.replyTo, question?.id)
        assert.isTrue(
          expectBody(yield* api.get("/api/failures"), 200, FailurePage).items.some(
            (item) => item.id === `message:${failed.id}`
          ),
          "listed without a filter too"
        )

        const retried = expectBody(yield* api.post(`/api/messages/${failed.id}/retry`), 202, MessageView)
        assert.strictEqual(retried.id, question?.id, "a retried reply answers its question again")
        yield* eventually(() =>
          server.telegram.sentTo(9101).some((sent) => sent.text === "reply to: please answer")
        )
        yield* settled(server, bot.id)

        assert.deepStrictEqual((yield* failuresOf(api, bot.id)).items, [])
        const [newest] = yield* messagesOf(api, bot.id, 9101)
        assert.strictEqual(newest?.role, "assistant")
        assert.strictEqual(newest?.text, "reply to: please answer")
        assert.strictEqual(newest?.status, "sent")
        expectError(yield* api.post(`/api/messages/${failed.id}/retry`), 404, "message_not_found")
      })
    )

    it.effect("an admin message Telegram refused is listed; a retry sends it", () =>
      Effect.gen(function* () {
        const server = yield* TestServer
        const api = yield* loggedIn(server.baseUrl)
        const { bot } = yield* server.addBot("Blocked")
        yield* say(server, bot, 9201, "hello")
        const chats = expectBody(yield* api.get(`/api/chats?botId=${bot.id}`), 200, ChatPage)
        const chatId = chats.items[0]!.id

        server.telegram.failNext(
          "sendMessage",
          FakeTelegram.Fault.apiError(403, "Forbidden: bot was blocked by the user")
        )
        const text = "We fixed your order."
        const queued = expectBody(
          yield* api.post(`/api/chats/${chatId}/messages`, { text }),
          202,
          MessageView
        )
        yield* settled(server, bot.id)
        const failed = (yield* failuresOf(api, bot.id)).items.find((item) => item.id === queued.id)
        assert.strictEqual(failed?.status, "failed")
        assert.strictEqual(failed?.role, "admin")
        assert.isFalse(server.telegram.sentTo(9201).some((sent) => sent.text === text))

        const retried = expectBody(yield* api.post(`/api/messages/${queued.id}/retry`), 202, MessageView)
        assert.strictEqual(retried.id, queued.id)
        yield* eventually(() => server.telegram.sentTo(9201).some((sent) => sent.text === text))
        yield* settled(server, bot.id)
        const after = (yield* messagesOf(api, bot.id, 9201)).find((message) => message.id === queued.id)
        assert.strictEqual(after?.status, "sent")
        assert.deepStrictEqual((yield* failuresOf(api, bot.id)).items, [])
      })
    )

    it.effect("failures page with limit and cursor; a forged cursor or bad botId is 400", () =>
      Effect.gen(function* () {
        const server = yield* TestServer
        const api = yield* loggedIn(server.baseUrl)
        const { bot, model } = yield* botWithOwnModel(server, api, "Flaky")
        yield* server.openai.failNext({ status: 401, model, times: 2 })
        yield* say(server, bot, 9301, "one")
        yield* say(server, bot, 9302, "two")

        const first = yield* failuresOf(api, bot.id, "&limit=1")
        assert.strictEqual(first.items.length, 1)
        assert.isNotNull(first.nextCursor)
        const second = yield* failuresOf(api, bot.id, `&limit=1&cursor=${first.nextCursor}`)
        assert.strictEqual(second.items.length, 1)
        assert.isNull(second.nextCursor)
        assert.notStrictEqual(first.items[0]!.id, second.items[0]!.id)
        assert.isAbove(
          Date.parse(first.items[0]!.createdAt),
          Date.parse(second.items[0]!.createdAt),
          "newest first"
        )

        expectError(yield* api.get("/api/failures?cursor=forged"), 400, "invalid_cursor")
        expectError(yield* api.get("/api/failures?botId=nope"), 400, "invalid_request")
        expectError(yield* api.get("/api/failures?limit=0"), 400, "invalid_request")
      })
    )

    it.effect("retrying a message that has not failed is 409; an unknown id 404; not an id 400", () =>
      Effect.gen(function* () {
        const server = yield* TestServer
        const api = yield* loggedIn(server.baseUrl)
        const { bot } = yield* server.addBot("Fine")
        yield* say(server, bot, 9401, "all good?")
        const [reply, question] = yield* messagesOf(api, bot.id, 9401)
        assert.strictEqual(reply?.status, "sent")
        assert.strictEqual(question?.status, "received")

        for (const message of [reply!, question!]) {
          const response = yield* api.post(`/api/messages/${message.id}/retry`)
          assert.include(expectError(response, 409, "not_retryable"), message.status)
        }
        expectError(yield* api.post(`/api/messages/${unknownId}/retry`), 404, "message_not_found")
        expectError(yield* api.post("/api/messages/not-a-uuid/retry"), 400, "invalid_request")
        assert.strictEqual(server.telegram.sentTo(9401).length, 1, "nothing sent again")
      })
    )
  }
)
