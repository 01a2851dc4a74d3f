/**
 * A bot token never leaves the server: not in any API response (body or
 * header) and not in any log line, even at LOG_LEVEL=trace and even when
 * Telegram or the model fail in ways whose errors could quote the URL or key.
 */

import { BotId } from "@botfleet/domain"
import { FakeTelegram } from "@botfleet/testing"
import { assert, layer } from "@effect/vitest"
import { Effect, Schema } from "effect"
import { BotView, ChatView, FailureView, MessageView, page } from "../../src/api/schemas.ts"
import { expectBody, loggedIn, withAdmin } from "../support/apiClient.ts"
import {
  eventually,
  postUpdate,
  layer as serverLayer,
  settled,
  TestServer,
  telegramBot,
  textUpdate
} from "../support/inProcessServer.ts"

/** The whole token and its secret half: either one appearing is a leak. */
const secretsOf = (token: string) => [token, token.split(":")[1]!]

layer(serverLayer(withAdmin({ logLevel: "trace" }), { captureOutput: true, recordLlmRequests: true }), {
  timeout: 90_000,
  excludeTestServices: true
})("secrets", (it) => {
  it.effect(
    "no bot token in any response or log line through create, get, list, update, rotate, enable, traffic and failures",
    () =>
      Effect.gen(function* () {
        const server = yield* TestServer
        const api = yield* loggedIn(server.baseUrl)
        const leaks: Array<string> = []
        const { token, telegramId } = telegramBot(server.telegram, "Secretive")

        // A token Telegram refuses, and one it cannot check right now: the errors must not quote them.
        const refused = telegramBot(server.telegram, "Refused")
        server.telegram.revokeToken(refused.token)
        leaks.push(...secretsOf(refused.token))
        assert.strictEqual(
          (yield* api.post("/api/bots", { name: "Refused", token: refused.token })).status,
          422
        )
        const unreachable = telegramBot(server.telegram, "Unreachable")
        leaks.push(...secretsOf(unreachable.token))
        // The adapter tries three times before it gives up on a call.
        // Telegram unreachable or failing is 503 telegram_unavailable (not a refused token).
        server.telegram.failNext("getMe", FakeTelegram.Fault.reset, 3)
        assert.strictEqual(
          (yield* api.post("/api/bots", { name: "Unreachable", token: unreachable.token })).status,
          503
        )
        server.telegram.failNext("getMe", FakeTelegram.Fault.serverError(502), 3)
        assert.strictEqual(
          (yield* api.post("/api/bots", { name: "Unreachable", token: unreachable.token })).status,
          503
        )

        leaks.push(...secretsOf(token))
        const created = expectBody(yield* api.post("/api/bots", { name: "Secretive", token }), 201, BotView)
        assert.strictEqual((yield* api.post("/api/bots", { name: "Copy", token })).status, 409)
        expectBody(yield* api.get("/api/bots"), 200, Schema.Array(BotView))
        expectBody(
          yield* api.patch(`/api/bots/${created.id}`, { systemPrompt: "Keep secrets." }),
          200,
          BotView
        )

        // The first setWebhook fails on a reset connection: the runner logs the error and retries.
        server.telegram.failNext("setWebhook", FakeTelegram.Fault.reset)
        expectBody(yield* api.post(`/api/bots/${created.id}/enable`), 200, BotView)
        yield* eventually(() => server.telegram.webhookOf(token) !== null)
        expectBody(yield* api.get(`/api/bots/${created.id}`), 200, BotView)

        const rotatedToken = telegramBot(server.telegram, "Secretive", telegramId).token
        leaks.push(...secretsOf(rotatedToken))
        expectBody(yield* api.patch(`/api/bots/${created.id}`, { token: rotatedToken }), 200, BotView)
        const other = telegramBot(server.telegram, "Other")
        leaks.push(...secretsOf(other.token))
        assert.strictEqual((yield* api.patch(`/api/bots/${created.id}`, { token: other.token })).status, 422)
        const hook = yield* eventually(() => server.telegram.webhookOf(rotatedToken) ?? undefined)

        // Traffic: a reply whose first send hits a reset connection, then a reply the model refuses (401).
        const bot = yield* server.bots.get(BotId.make(created.id)).pipe(Effect.orDie)
        const update = (text: string) =>
          postUpdate(server.baseUrl, bot, textUpdate(9801, text), { secret: hook.secretToken })
        server.telegram.failNext("sendMessage", FakeTelegram.Fault.reset)
        assert.strictEqual((yield* update("tell me a secret")).status, 200)
        yield* eventually(() => server.telegram.sentTo(9801).length === 1, 30_000)
        yield* server.openai.failNext({ status: 401 })
        assert.strictEqual((yield* update("and another")).status, 200)
        yield* eventually(() => server.telegram.sentTo(9801).length === 2, 30_000)
        yield* settled(server, created.id)

        const chats = expectBody(yield* api.get(`/api/chats?botId=${created.id}`), 200, page(ChatView))
        const chatId = chats.items[0]!.id
        expectBody(yield* api.get(`/api/chats/${chatId}`), 200, ChatView)
        expectBody(yield* api.get(`/api/chats/${chatId}/messages`), 200, page(MessageView))
        expectBody(
          yield* api.post(`/api/chats/${chatId}/messages`, { text: "An admin writes." }),
          202,
          MessageView
        )
        yield* eventually(() => server.telegram.sentTo(9801).length === 3)
        expectBody(yield* api.get("/api/failures"), 200, page(FailureView))
        assert.strictEqual((yield* api.get("/api/stats")).status, 200)
        expectBody(yield* api.post(`/api/bots/${created.id}/disable`), 200, BotView)
        assert.strictEqual((yield* api.delete(`/api/bots/${created.id}`)).status, 204)

        const responses = api
          .responses()
          .map((response) => `${response.status} ${JSON.stringify([...response.headers])} ${response.text}`)
        const output = server.output()
        // The capture works: the real log lines are there, at trace level.
        assert.include(output, '"message":"http request"')
        assert.include(output, '"message":"bot registered"')
        assert.include(output, '"level":"warn"')
        for (const leak of leaks) {
          for (const response of responses) assert.notInclude(response, leak, "a response quotes a token")
          const line = output.split("\n").find((candidate) => candidate.includes(leak))
          assert.isUndefined(line, `a log line quotes a token: ${line?.slice(0, 300)}`)
        }
        assert.notInclude(output, "sk-test-key", "nor the OpenAI key")
        assert.notInclude(output, hook.secretToken!, "nor the webhook secret")
      }),
    90_000
  )
})
