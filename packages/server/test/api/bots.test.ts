/**
 * Bots through the admin API: create (the token checked with getMe, never
 * shown again), read with Telegram's webhook info, update and rotate the
 * token, enable and disable through the effect runner, delete.
 */

import { BotId } from "@botfleet/domain"
import { FakeTelegram } from "@botfleet/testing"
import { assert, layer } from "@effect/vitest"
import { Effect, Schema } from "effect"
import { BotView } from "../../src/api/schemas.ts"
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
  TestServer,
  telegramBot,
  textUpdate
} from "../support/inProcessServer.ts"
import { makeToken } from "../support/testConfig.ts"

const BOT_VIEW_KEYS = new Set(Object.keys(BotView.fields))

/** Registers a bot at the fake Telegram, then creates it through the API. */
const createBot = (api: ApiClient, server: TestServer["Service"], name: string, extra: object = {}) =>
  Effect.gen(function* () {
    const telegram = telegramBot(server.telegram, name)
    const response = yield* api.post("/api/bots", { name, token: telegram.token, ...extra })
    return { ...telegram, response, bot: expectBody(response, 201, BotView) }
  })

const webhookSecretOf = (server: TestServer["Service"], botId: string) =>
  Effect.map(
    server.sql<{
      webhookSecret: string
    }>`SELECT webhook_secret AS "webhookSecret" FROM bots WHERE id = ${botId}`,
    (rows) => rows[0]?.webhookSecret
  ).pipe(Effect.orDie)

const countRows = (
  server: TestServer["Service"],
  table: "chats" | "messages" | "telegram_updates",
  botId: string
) =>
  Effect.map(
    server.sql<{
      count: number
    }>`SELECT count(*)::int AS count FROM ${server.sql(table)} WHERE bot_id = ${botId}`,
    (rows) => rows[0]!.count
  ).pipe(Effect.orDie)

const botNames = (api: ApiClient) =>
  Effect.map(api.get("/api/bots"), (response) =>
    expectBody(response, 200, Schema.Array(BotView)).map((bot) => bot.name)
  )

layer(serverLayer(withAdmin()), { timeout: 60_000, excludeTestServices: true })("bots API", (it) => {
  it.effect("create with a valid token is 201 with a token hint, never the token or any secret", () =>
    Effect.gen(function* () {
      const server = yield* TestServer
      const api = yield* loggedIn(server.baseUrl)
      const { bot, token, username, response } = yield* createBot(api, server, "Helper", {
        systemPrompt: "Be brief.",
        model: "gpt-4o"
      })
      assert.strictEqual(bot.name, "Helper")
      assert.strictEqual(bot.username, username)
      assert.strictEqual(bot.active, false, "a new bot waits to be enabled")
      assert.strictEqual(bot.mode, "webhook")
      assert.strictEqual(bot.systemPrompt, "Be brief.")
      assert.strictEqual(bot.model, "gpt-4o")
      assert.strictEqual(bot.effectiveModel, "gpt-4o")
      assert.strictEqual(bot.tokenHint.slice(-4), token.slice(-4))

      assert.strictEqual(response.headers.get("location"), `/api/bots/${bot.id}`)
      for (const key of Object.keys(response.body as object)) assert.isTrue(BOT_VIEW_KEYS.has(key), key)
      const secret = token.split(":")[1]!
      const webhookSecret = yield* webhookSecretOf(server, bot.id)
      assert.isDefined(webhookSecret)
      assert.notInclude(response.text, secret, "the token's secret part")
      assert.notInclude(response.text, webhookSecret!, "the webhook secret")

      const listed = yield* api.get("/api/bots")
      assert.include(
        expectBody(listed, 200, Schema.Array(BotView)).map((b) => b.id),
        bot.id
      )
      assert.notInclude(listed.text, secret)
      assert.notInclude(listed.text, webhookSecret!)
    })
  )

  it.effect("a token Telegram refuses is 422 invalid_token, one of the wrong shape 400; nothing stored", () =>
    Effect.gen(function* () {
      const server = yield* TestServer
      const api = yield* loggedIn(server.baseUrl)
      // Well formed, but Telegram does not know it (getMe: 401).
      const unknown = yield* api.post("/api/bots", { name: "Ghost", token: makeToken() })
      assert.match(expectError(unknown, 422, "invalid_token"), /Telegram/)
      // Not a token at all: refused by the schema, naming the field and not the value.
      const malformed = yield* api.post("/api/bots", { name: "Ghost", token: "not-a-bot-token" })
      assert.strictEqual(
        expectError(malformed, 400, "invalid_request"),
        "body.token: expected a Telegram bot token (digits:letters)"
      )
      assert.notInclude(yield* botNames(api), "Ghost")
    })
  )

  it.effect(
    "Telegram down or 5xx while a token is checked is 503 telegram_unavailable with Retry-After; nothing changes",
    () =>
      Effect.gen(function* () {
        const server = yield* TestServer
        const api = yield* loggedIn(server.baseUrl)
        const down = telegramBot(server.telegram, "Patient")
        // The adapter tries getMe three times (two retries) before giving up.
        server.telegram.failNext("getMe", FakeTelegram.Fault.serverError(502), 3)
        const created = yield* api.post("/api/bots", { name: "Patient", token: down.token })
        assert.match(expectError(created, 503, "telegram_unavailable"), /try again/)
        assert.match(created.headers.get("retry-after") ?? "", /^\d+$/)
        assert.notInclude(yield* botNames(api), "Patient")

        // Rotation while Telegram is down keeps the working token.
        const { bot, telegramId } = yield* createBot(api, server, "Rotated later")
        const next = telegramBot(server.telegram, "Rotated later", telegramId).token
        server.telegram.failNext("getMe", FakeTelegram.Fault.reset, 3)
        const rotated = yield* api.patch(`/api/bots/${bot.id}`, { token: next })
        expectError(rotated, 503, "telegram_unavailable")
        assert.isNotNull(rotated.headers.get("retry-after"))
        const after = expectBody(yield* api.get(`/api/bots/${bot.id}`), 200, BotView)
        assert.strictEqual(after.tokenHint, bot.tokenHint, "the old token stays")

        // Once Telegram answers again, the same request goes through.
        expectBody(yield* api.post("/api/bots", { name: "Patient", token: down.token }), 201, BotView)
      }),
    60_000
  )

  it.effect("a name in use (in any case) is 409 name_taken", () =>
    Effect.gen(function* () {
      const server = yield* TestServer
      const api = yield* loggedIn(server.baseUrl)
      yield* createBot(api, server, "Twin")
      const again = yield* api.post("/api/bots", {
        name: "Twin",
        token: telegramBot(server.telegram, "Twin2").token
      })
      expectError(again, 409, "name_taken")
      const upper = yield* api.post("/api/bots", {
        name: "TWIN",
        token: telegramBot(server.telegram, "Twin3").token
      })
      expectError(upper, 409, "name_taken")
      assert.strictEqual((yield* botNames(api)).filter((name) => name.toLowerCase() === "twin").length, 1)
    })
  )

  it.effect("the same Telegram bot registered again is 409 token_in_use, whichever of its tokens", () =>
    Effect.gen(function* () {
      const server = yield* TestServer
      const api = yield* loggedIn(server.baseUrl)
      const { token, telegramId } = yield* createBot(api, server, "Once")
      expectError(yield* api.post("/api/bots", { name: "Once again", token }), 409, "token_in_use")
      // A second token of the same Telegram bot (as after a token reset in BotFather).
      const otherToken = telegramBot(server.telegram, "Once", telegramId).token
      expectError(yield* api.post("/api/bots", { name: "Once more", token: otherToken }), 409, "token_in_use")
    })
  )

  it.effect("malformed JSON is 400; a missing or bad field is 400 naming the field", () =>
    Effect.gen(function* () {
      const server = yield* TestServer
      const api = yield* loggedIn(server.baseUrl)
      const malformed = yield* api.request("POST", "/api/bots", { raw: '{"name": "Broken", "token": ' })
      assert.strictEqual(malformed.status, 400)
      assert.include(expectError(malformed, 400, "invalid_request"), "JSON")

      const token = telegramBot(server.telegram, "Nameless").token
      assert.include(
        expectError(yield* api.post("/api/bots", { token }), 400, "invalid_request"),
        "body.name:"
      )
      const blank = yield* api.post("/api/bots", { name: "", token })
      assert.include(expectError(blank, 400, "invalid_request"), "body.name:")
      const history = yield* api.post("/api/bots", { name: "Nameless", token, historyLimit: 500 })
      assert.include(expectError(history, 400, "invalid_request"), "body.historyLimit:")
      assert.include(
        expectError(yield* api.post("/api/bots", { name: "Nameless" }), 400, "invalid_request"),
        "body.token:"
      )
      assert.notInclude(yield* botNames(api), "Nameless")
    })
  )

  it.effect("get shows the bot with Telegram's webhook info; unknown id 404, not an id 400", () =>
    Effect.gen(function* () {
      const server = yield* TestServer
      const api = yield* loggedIn(server.baseUrl)
      const { bot, token } = yield* createBot(api, server, "Watched")
      expectBody(yield* api.post(`/api/bots/${bot.id}/enable`), 200, BotView)
      yield* eventually(() => server.telegram.webhookOf(token) !== null)
      server.telegram.setWebhookError(token, "Connection timed out", new Date("2026-01-02T03:04:05Z"))

      const got = expectBody(yield* api.get(`/api/bots/${bot.id}`), 200, BotView)
      assert.strictEqual(got.id, bot.id)
      assert.strictEqual(got.active, true)
      assert.deepStrictEqual(got.webhook, {
        url: `${server.baseUrl}/telegram/webhook/${bot.id}`,
        pendingUpdateCount: 0,
        lastErrorMessage: "Connection timed out",
        lastErrorDate: "2026-01-02T03:04:05.000Z"
      })

      expectError(yield* api.get(`/api/bots/${unknownId}`), 404, "bot_not_found")
      assert.include(expectError(yield* api.get("/api/bots/not-a-uuid"), 400, "invalid_request"), "path.id:")
    })
  )

  it.effect(
    "update changes the given fields only; unknown id 404, bad field 400, another bot's name 409",
    () =>
      Effect.gen(function* () {
        const server = yield* TestServer
        const api = yield* loggedIn(server.baseUrl)
        const { bot } = yield* createBot(api, server, "Editable", { systemPrompt: "Old prompt." })
        yield* createBot(api, server, "Neighbour")

        const updated = expectBody(
          yield* api.patch(`/api/bots/${bot.id}`, {
            model: "gpt-4.1-mini",
            startMessage: "Welcome!",
            historyLimit: 5
          }),
          200,
          BotView
        )
        assert.strictEqual(updated.model, "gpt-4.1-mini")
        assert.strictEqual(updated.effectiveModel, "gpt-4.1-mini")
        assert.strictEqual(updated.startMessage, "Welcome!")
        assert.strictEqual(updated.historyLimit, 5)
        assert.strictEqual(updated.systemPrompt, "Old prompt.", "fields not given stay")
        assert.strictEqual(updated.tokenHint, bot.tokenHint)

        const reread = expectBody(yield* api.get(`/api/bots/${bot.id}`), 200, BotView)
        assert.strictEqual(reread.startMessage, "Welcome!")
        // null goes back to the default model.
        const reset = expectBody(yield* api.patch(`/api/bots/${bot.id}`, { model: null }), 200, BotView)
        assert.strictEqual(reset.model, null)
        assert.strictEqual(reset.effectiveModel, "gpt-4o-mini")

        expectError(yield* api.patch(`/api/bots/${unknownId}`, { name: "Nobody" }), 404, "bot_not_found")
        assert.include(
          expectError(yield* api.patch(`/api/bots/${bot.id}`, { historyLimit: -1 }), 400, "invalid_request"),
          "body.historyLimit:"
        )
        expectError(yield* api.patch(`/api/bots/${bot.id}`, { name: "Neighbour" }), 409, "name_taken")
        expectError(yield* api.patch(`/api/bots/not-a-uuid`, { name: "X" }), 400, "invalid_request")
      })
  )

  it.effect(
    "token rotation: the same bot's new token re-registers the webhook with a new secret; another bot's is 422",
    () =>
      Effect.gen(function* () {
        const server = yield* TestServer
        const api = yield* loggedIn(server.baseUrl)
        const { bot, token, telegramId } = yield* createBot(api, server, "Rotating")
        expectBody(yield* api.post(`/api/bots/${bot.id}/enable`), 200, BotView)
        const firstHook = yield* eventually(() => server.telegram.webhookOf(token) ?? undefined)
        const oldSecret = firstHook.secretToken

        const newToken = telegramBot(server.telegram, "Rotating", telegramId).token
        const rotated = expectBody(yield* api.patch(`/api/bots/${bot.id}`, { token: newToken }), 200, BotView)
        assert.strictEqual(rotated.id, bot.id)
        assert.strictEqual(rotated.tokenHint.slice(-4), newToken.slice(-4))
        assert.notInclude(JSON.stringify(rotated), newToken.split(":")[1]!)

        const newHook = yield* eventually(() => server.telegram.webhookOf(newToken) ?? undefined)
        assert.strictEqual(newHook.url, `${server.baseUrl}/telegram/webhook/${bot.id}`)
        assert.notStrictEqual(newHook.secretToken, oldSecret, "a new webhook secret")

        // Telegram's calls with the old secret are refused from now on.
        const stored = yield* server.bots.get(BotId.make(bot.id)).pipe(Effect.orDie)
        const withOld = yield* postUpdate(server.baseUrl, stored, textUpdate(7001, "old"), {
          secret: oldSecret
        })
        assert.strictEqual(withOld.status, 401)
        const withNew = yield* postUpdate(server.baseUrl, stored, textUpdate(7001, "new"), {
          secret: newHook.secretToken
        })
        assert.strictEqual(withNew.status, 200)

        const stranger = telegramBot(server.telegram, "Stranger").token
        const refused = yield* api.patch(`/api/bots/${bot.id}`, { token: stranger })
        assert.match(expectError(refused, 422, "invalid_token"), /Stranger_bot/)
        const unknown = yield* api.patch(`/api/bots/${bot.id}`, { token: makeToken(telegramId) })
        expectError(unknown, 422, "invalid_token")
        const after = expectBody(yield* api.get(`/api/bots/${bot.id}`), 200, BotView)
        assert.strictEqual(after.tokenHint, rotated.tokenHint, "a refused token changes nothing")
      })
  )

  it.effect("enable sets the webhook at Telegram; disable removes it; unknown id 404, not an id 400", () =>
    Effect.gen(function* () {
      const server = yield* TestServer
      const api = yield* loggedIn(server.baseUrl)
      const { bot, token } = yield* createBot(api, server, "Switch")
      assert.isNull(server.telegram.webhookOf(token), "nothing at Telegram before enable")

      const enabled = expectBody(yield* api.post(`/api/bots/${bot.id}/enable`), 200, BotView)
      assert.strictEqual(enabled.active, true)
      const hook = yield* eventually(() => server.telegram.webhookOf(token) ?? undefined)
      assert.strictEqual(hook.url, `${server.baseUrl}/telegram/webhook/${bot.id}`)

      const disabled = expectBody(yield* api.post(`/api/bots/${bot.id}/disable`), 200, BotView)
      assert.strictEqual(disabled.active, false)
      yield* eventually(() => server.telegram.webhookOf(token) === null)
      assert.strictEqual(expectBody(yield* api.get(`/api/bots/${bot.id}`), 200, BotView).active, false)

      expectError(yield* api.post(`/api/bots/${unknownId}/enable`), 404, "bot_not_found")
      expectError(yield* api.post(`/api/bots/${unknownId}/disable`), 404, "bot_not_found")
      expectError(yield* api.post("/api/bots/not-a-uuid/enable"), 400, "invalid_request")
      expectError(yield* api.post("/api/bots/not-a-uuid/disable"), 400, "invalid_request")
    })
  )

  it.effect("delete is 204: the webhook goes first, then the bot with its chats, messages and updates", () =>
    Effect.gen(function* () {
      const server = yield* TestServer
      const api = yield* loggedIn(server.baseUrl)
      const { bot, token } = yield* server.addBot("Doomed")
      yield* eventually(() => server.telegram.webhookOf(token) !== null)
      assert.strictEqual((yield* postUpdate(server.baseUrl, bot, textUpdate(7101, "hello"))).status, 200)
      yield* eventually(() => server.telegram.sentTo(7101).length > 0)
      assert.strictEqual(yield* countRows(server, "chats", bot.id), 1)

      const removed = yield* api.delete(`/api/bots/${bot.id}`)
      assert.strictEqual(removed.status, 204)
      assert.strictEqual(removed.text, "")
      assert.isNull(server.telegram.webhookOf(token), "the webhook is removed")
      expectError(yield* api.get(`/api/bots/${bot.id}`), 404, "bot_not_found")
      assert.notInclude(yield* botNames(api), "Doomed")
      for (const table of ["chats", "messages", "telegram_updates"] as const) {
        assert.strictEqual(yield* countRows(server, table, bot.id), 0, table)
      }
      expectError(yield* api.delete(`/api/bots/${bot.id}`), 404, "bot_not_found")
      expectError(yield* api.delete("/api/bots/not-a-uuid"), 400, "invalid_request")
    })
  )

  it.effect("delete still goes through when Telegram cannot remove the webhook (best effort)", () =>
    Effect.gen(function* () {
      const server = yield* TestServer
      const api = yield* loggedIn(server.baseUrl)
      const { bot, token } = yield* server.addBot("Stubborn")
      yield* eventually(() => server.telegram.webhookOf(token) !== null)
      // Three 502s: the adapter's first try and both of its retries.
      server.telegram.failNext("deleteWebhook", FakeTelegram.Fault.serverError(502), 3)

      assert.strictEqual((yield* api.delete(`/api/bots/${bot.id}`)).status, 204)
      expectError(yield* api.get(`/api/bots/${bot.id}`), 404, "bot_not_found")
      assert.isNotNull(server.telegram.webhookOf(token), "Telegram still has the old webhook")
      // Telegram's calls to the old URL are answered 404 from now on.
      const late = yield* postUpdate(server.baseUrl, bot, textUpdate(7201, "anyone?"))
      assert.strictEqual(late.status, 404)
    })
  )
})
