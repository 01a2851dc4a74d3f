/**
 * Mini App sign-in on the real server: initData signed the way Telegram signs
 * it (computed here from the spec, independently of the server's code) gives
 * a bearer token that shows the user's own history; tampered, expired or
 * another bot's initData, and a token used on another bot, are 401. From its
 * own origin (WEBAPP_ORIGINS) the Mini App gets CORS without credentials on
 * /api/webapp/* and nothing else.
 */
import { createHmac } from "node:crypto"
import { assert, layer } from "@effect/vitest"
import { Effect } from "effect"
import { BotView, WebAppProfileView, WebAppSessionView } from "../../src/api/schemas.ts"
import {
  type ApiClient,
  type ApiResponse,
  expectBody,
  expectError,
  loggedIn,
  makeClient,
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

/** initData as Telegram builds it for `user`, signed with `token`. */
const signedInitData = (token: string, user: object, authDate = Math.floor(Date.now() / 1000)) => {
  const fields: Record<string, string> = {
    auth_date: String(authDate),
    query_id: "AAHdF6IQAAAAAN0XohDhrOrc",
    user: JSON.stringify(user)
  }
  const dataCheckString = Object.keys(fields)
    .sort()
    .map((key) => `${key}=${fields[key]}`)
    .join("\n")
  const secret = createHmac("sha256", "WebAppData").update(token).digest()
  const hash = createHmac("sha256", secret).update(dataCheckString).digest("hex")
  return new URLSearchParams({ ...fields, hash }).toString()
}

const ann = { id: 6601, first_name: "Ann", username: "ann" }

layer(serverLayer(withAdmin()), { timeout: 60_000, excludeTestServices: true })("Mini App sign-in", (it) => {
  it.effect("valid initData signs in; the token shows the user's history and usage", () =>
    Effect.gen(function* () {
      const server = yield* TestServer
      const client = makeClient(server.baseUrl)
      const { bot, token } = yield* server.addBot("Mini")
      assert.strictEqual(
        (yield* postUpdate(server.baseUrl, bot, textUpdate(ann.id, "hello mini app"))).status,
        200
      )
      yield* eventually(() => server.telegram.sentTo(ann.id).length > 0)
      yield* settled(server, bot.id)

      const session = expectBody(
        yield* client.post(`/api/webapp/${bot.id}/session`, { initData: signedInitData(token, ann) }),
        200,
        WebAppSessionView
      )
      assert.deepStrictEqual(session.user, { id: ann.id, firstName: "Ann", username: "ann" })
      assert.isAbove(Date.parse(session.expiresAt), Date.now())
      assert.notInclude(session.token, token, "the token does not carry the bot token")

      const me = expectBody(
        yield* client.get(`/api/webapp/${bot.id}/me`, {
          headers: { authorization: `Bearer ${session.token}` }
        }),
        200,
        WebAppProfileView
      )
      assert.strictEqual(me.telegramUserId, ann.id)
      assert.deepStrictEqual(
        me.messages.map((message) => [message.role, message.text]),
        [
          ["assistant", "reply to: hello mini app"],
          ["user", "hello mini app"]
        ]
      )
      assert.strictEqual(me.usage.messages, 2)
      assert.isAbove(me.usage.inputTokens, 0)
    })
  )

  it.effect("tampered, expired or another bot's initData is 401; so is a token on another bot or none", () =>
    Effect.gen(function* () {
      const server = yield* TestServer
      const client = makeClient(server.baseUrl)
      const { bot, token } = yield* server.addBot("Guarded")
      const { bot: other, token: otherToken } = yield* server.addBot("Other")

      const tampered = signedInitData(token, ann).replace(
        encodeURIComponent('"id":6601'),
        encodeURIComponent('"id":6602')
      )
      assert.notStrictEqual(tampered, signedInitData(token, ann), "the user id was changed")
      const cases: ReadonlyArray<[string, string]> = [
        [tampered, "signature does not match"],
        [signedInitData(token, ann, Math.floor(Date.now() / 1000) - 86_401), "expired"],
        [signedInitData(otherToken, ann), "signature does not match"],
        ["user=%7B%22id%22%3A1%7D&auth_date=1", "no valid hash"]
      ]
      for (const [initData, reason] of cases) {
        const message = expectError(
          yield* client.post(`/api/webapp/${bot.id}/session`, { initData }),
          401,
          "unauthorized"
        )
        assert.include(message, reason)
      }
      expectError(yield* client.post(`/api/webapp/${bot.id}/session`, {}), 400, "invalid_request")

      const session = expectBody(
        yield* client.post(`/api/webapp/${bot.id}/session`, { initData: signedInitData(token, ann) }),
        200,
        WebAppSessionView
      )
      const bearer = { authorization: `Bearer ${session.token}` }
      expectError(yield* client.get(`/api/webapp/${other.id}/me`, { headers: bearer }), 401, "unauthorized")
      expectError(yield* client.get(`/api/webapp/${bot.id}/me`), 401, "unauthorized")
      const forged = `${session.token.slice(0, -4)}AAAA`
      expectError(
        yield* client.get(`/api/webapp/${bot.id}/me`, { headers: { authorization: `Bearer ${forged}` } }),
        401,
        "unauthorized"
      )
      // The failures above did not spoil the good token.
      expectBody(yield* client.get(`/api/webapp/${bot.id}/me`, { headers: bearer }), 200, WebAppProfileView)
    })
  )
})

const MINI_APP = "https://miniapp.example"
const DASHBOARD = "https://admin.example"

const corsHeadersOf = (response: ApiResponse) =>
  [...response.headers.keys()].filter((name) => name.startsWith("access-control-"))

const preflight = (client: ApiClient, path: string, origin: string, method: string, headers: string) =>
  client.request("OPTIONS", path, {
    headers: { origin, "access-control-request-method": method, "access-control-request-headers": headers }
  })

layer(serverLayer(withAdmin({ webappOrigins: [MINI_APP], corsOrigins: [DASHBOARD] })), {
  timeout: 60_000,
  excludeTestServices: true
})("Mini App on its own origin (WEBAPP_ORIGINS)", (it) => {
  it.effect("the Mini App's calls are allowed from its origin, without credentials", () =>
    Effect.gen(function* () {
      const server = yield* TestServer
      const client = makeClient(server.baseUrl)
      const { bot, token } = yield* server.addBot("OwnOrigin")
      const sessionPath = `/api/webapp/${bot.id}/session`

      const asked = yield* preflight(client, sessionPath, MINI_APP, "POST", "content-type")
      assert.strictEqual(asked.status, 204)
      assert.strictEqual(asked.headers.get("access-control-allow-origin"), MINI_APP)
      assert.include(asked.headers.get("access-control-allow-methods") ?? "", "POST")
      assert.include(asked.headers.get("access-control-allow-headers") ?? "", "content-type")
      assert.isNull(asked.headers.get("access-control-allow-credentials"))

      const signedIn = yield* client.post(
        sessionPath,
        { initData: signedInitData(token, ann) },
        { headers: { origin: MINI_APP } }
      )
      const session = expectBody(signedIn, 200, WebAppSessionView)
      assert.strictEqual(signedIn.headers.get("access-control-allow-origin"), MINI_APP)
      assert.isNull(signedIn.headers.get("access-control-allow-credentials"))

      const mePath = `/api/webapp/${bot.id}/me`
      const askedMe = yield* preflight(client, mePath, MINI_APP, "GET", "authorization")
      assert.include(askedMe.headers.get("access-control-allow-headers") ?? "", "authorization")
      const me = yield* client.get(mePath, {
        headers: { origin: MINI_APP, authorization: `Bearer ${session.token}` }
      })
      expectBody(me, 200, WebAppProfileView)
      assert.strictEqual(me.headers.get("access-control-allow-origin"), MINI_APP)
      assert.isNull(me.headers.get("access-control-allow-credentials"))
    })
  )

  it.effect("the Mini App's origin gets nothing from the admin API: no CORS headers, writes refused", () =>
    Effect.gen(function* () {
      const server = yield* TestServer
      const admin = yield* loggedIn(server.baseUrl)
      const { bot } = yield* server.addBot("NotForTheMiniApp")
      assert.deepStrictEqual(
        corsHeadersOf(yield* admin.get("/api/bots", { headers: { origin: MINI_APP } })),
        []
      )
      const asked = yield* preflight(admin, `/api/bots/${bot.id}`, MINI_APP, "PATCH", "content-type")
      assert.deepStrictEqual(corsHeadersOf(asked), [])
      // With the admin's cookie, as a page on the Mini App's origin could make the browser send it.
      const forged = yield* admin.request("POST", `/api/bots/${bot.id}/disable`, {
        raw: "",
        headers: { origin: MINI_APP, "content-type": "text/plain" }
      })
      expectError(forged, 403, "forbidden_origin")
      assert.isTrue(expectBody(yield* admin.get(`/api/bots/${bot.id}`), 200, BotView).active)
    })
  )

  it.effect("another origin may not start a Mini App session either", () =>
    Effect.gen(function* () {
      const server = yield* TestServer
      const { bot, token } = yield* server.addBot("StrangerSession")
      const refused = yield* makeClient(server.baseUrl).post(
        `/api/webapp/${bot.id}/session`,
        { initData: signedInitData(token, ann) },
        { headers: { origin: "https://evil.example" } }
      )
      expectError(refused, 403, "forbidden_origin")
      assert.deepStrictEqual(corsHeadersOf(refused), [])
    })
  )
})
