/**
 * A validation error names the field and the rule, never the value sent: each
 * bad value here carries a marker, and the 400 (and every log line written
 * meanwhile) must name the field without quoting it. Bodies, queries and path
 * parameters of the admin API, the Mini App session and the webhook.
 */
import { assert, layer } from "@effect/vitest"
import { Effect } from "effect"
import { type ApiResponse, expectError, loggedIn, makeClient, withAdmin } from "../support/apiClient.ts"
import { postUpdate, layer as serverLayer, TestServer, textUpdate } from "../support/inProcessServer.ts"

/** A token Telegram would never have issued, but of the right shape: the schema lets it by. */
const WELL_FORMED_TOKEN = `123456789:${"A".repeat(35)}`

/** Unique per value, so a hit can only come from echoing that value. */
const marker = (name: string) => `MARK${name}${Math.random().toString(36).slice(2, 10)}`

/** The 400's message: it names `field` with `rule`, and quotes none of `markers`. */
const quiet = (response: ApiResponse, expected: string, markers: ReadonlyArray<string>) => {
  const message = expectError(response, 400, "invalid_request")
  assert.strictEqual(message, expected)
  for (const secret of markers) assert.notInclude(response.text, secret)
  return message
}

layer(serverLayer(withAdmin({ logLevel: "trace" }), { captureOutput: true }), {
  timeout: 120_000,
  excludeTestServices: true
})("quiet validation errors", (it) => {
  it.effect("bodies, queries and path parameters: the field and the rule, not the value", () =>
    Effect.gen(function* () {
      const server = yield* TestServer
      const api = yield* loggedIn(server.baseUrl)
      const sent: Array<string> = []
      const mark = (name: string) => {
        const value = marker(name)
        sent.push(value)
        return value
      }

      // A bot token of the wrong shape (say, a provider key pasted in the wrong box).
      const token = mark("token")
      quiet(
        yield* api.post("/api/bots", { name: "Quiet", token: `sk-${token}` }),
        "body.token: expected a Telegram bot token (digits:letters)",
        sent
      )
      // A token of the right shape but the wrong type.
      quiet(
        yield* api.post("/api/bots", { name: "Quiet", token: { value: mark("tokenObject") } }),
        "body.token: expected a string",
        sent
      )
      // A string where a number goes.
      quiet(
        yield* api.post("/api/bots", {
          name: "Quiet",
          token: WELL_FORMED_TOKEN,
          historyLimit: mark("history")
        }),
        "body.historyLimit: expected an integer from 0 to 200",
        sent
      )
      // A misspelt field: its name is shown (it is the client's field name), its value is not.
      quiet(
        yield* api.post("/api/bots", { name: "Quiet", tokne: mark("typo") }),
        'body: unknown field "tokne"',
        sent
      )
      // A provider key of the wrong type, and one that cannot go in a header.
      const provider = { name: "Quiet", baseUrl: "http://127.0.0.1:9/v1" }
      quiet(
        yield* api.post("/api/providers", { ...provider, apiKey: [mark("apiKeyArray")] }),
        "body.apiKey: expected a string",
        sent
      )
      quiet(
        yield* api.post("/api/providers", { ...provider, apiKey: `sk ${mark("apiKeySpace")}` }),
        "body.apiKey: expected visible ASCII characters without spaces",
        sent
      )
      quiet(
        yield* api.post("/api/providers", {
          ...provider,
          baseUrl: `http://u:${mark("url")}@example.com/v1`,
          apiKey: "k"
        }),
        "body.baseUrl: expected an http(s) URL without credentials, query or fragment",
        sent
      )
      // Sign-in and registration: an email with a marker inside, a password too short.
      const anonymous = makeClient(server.baseUrl)
      quiet(
        yield* anonymous.post("/api/auth/login", { email: `${mark("email")} at example.com`, password: "x" }),
        "body.email: expected an email address",
        sent
      )
      quiet(
        yield* anonymous.post("/api/auth/register", {
          email: "new@example.com",
          password: mark("pw").slice(0, 11),
          registrationToken: "whatever"
        }),
        "body.password: expected a string with at least 12 code points",
        sent
      )
      quiet(
        yield* anonymous.post("/api/auth/login", { email: "admin@example.com", password: 12345678901 }),
        "body.password: expected a string",
        []
      )
      // Queries and path parameters.
      quiet(
        yield* api.get(`/api/chats?limit=${mark("limit")}`),
        "query.limit: expected an integer from 1 to 200",
        sent
      )
      quiet(yield* api.get("/api/chats?limit=1000"), "query.limit: expected an integer from 1 to 200", [])
      // Not added to `sent`: the request log names the path, as any access log does (never the query).
      const id = marker("id")
      quiet(yield* api.get(`/api/bots/${id}`), "path.id: expected a UUID", [id])
      // The Mini App session, before any token is checked.
      const { bot } = yield* server.addBot("QuietMini")
      quiet(
        yield* anonymous.post(`/api/webapp/${bot.id}/session`, { initData: { hash: mark("initData") } }),
        "body.initData: expected a string",
        sent
      )

      // The webhook: Telegram never sends a chat id like this, whoever did learns only the field.
      const update = textUpdate(7301, "hi")
      const bad = { ...update, message: { ...update.message, chat: { id: mark("chat"), type: "private" } } }
      const hook = yield* postUpdate(server.baseUrl, bot, bad)
      assert.strictEqual(hook.status, 400)
      assert.deepStrictEqual(hook.body, {
        error: {
          code: "invalid_update",
          message: "message.chat.id: expected an integer from -4503599627370496 to 4503599627370496"
        }
      })

      // Nor in any log line written meanwhile (the server logs at trace here).
      const output = server.output()
      assert.include(output, '"status":400', "the refused requests were logged")
      for (const secret of sent) {
        const line = output.split("\n").find((candidate) => candidate.includes(secret))
        assert.isUndefined(line, `a log line quotes a rejected value: ${line?.slice(0, 300)}`)
      }
    })
  )
})
