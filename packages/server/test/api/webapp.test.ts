/**
 * Mini App sign-in on the real server: initData signed the way Telegram signs
 * it (computed here from the spec, independently of the server's code) gives
 * a bearer token that shows the user's own history; tampered, expired or
 * another bot's initData, and a token used on another bot, are 401.
 */
import { createHmac } from "node:crypto"
import { assert, layer } from "@effect/vitest"
import { Effect } from "effect"
import { WebAppProfileView, WebAppSessionView } from "../../src/api/ops/schemas.ts"
import { expectBody, expectError, makeClient, withAdmin } from "../support/apiClient.ts"
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
