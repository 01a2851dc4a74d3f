/**
 * One path, one rule: cross-site forgeries of every body-less POST (enable,
 * disable, block, both retries, logout) in every spelling the router could be
 * led to accept (capitals, doubled slashes, %-escapes, a trailing slash, dot
 * segments) are refused with 403 from a foreign origin, and nothing changes in
 * the database. Requests are sent with node:http, which sends the path exactly
 * as written (fetch would resolve dot segments first).
 */
import { request as httpRequest } from "node:http"
import { assert, layer } from "@effect/vitest"
import { Effect } from "effect"
import { SESSION_COOKIE } from "../../src/api/Authentication.ts"
import { BotView } from "../../src/api/schemas.ts"
import { canonicalPathOf } from "../../src/http/canonicalPath.ts"
import { type ApiClient, expectBody, expectError, loggedIn, withAdmin } from "../support/apiClient.ts"
import {
  eventually,
  postUpdate,
  layer as serverLayer,
  settled,
  TestServer,
  textUpdate
} from "../support/inProcessServer.ts"

const STRANGER = "https://evil.example"
const MINI_APP = "https://miniapp.example"
const BLOCKED_USER = 4242

interface RawResponse {
  readonly status: number
  readonly headers: Record<string, string | Array<string> | undefined>
  readonly body: unknown
}

/** A request whose path goes on the wire byte for byte. */
const raw = (baseUrl: string, method: string, path: string, headers: Record<string, string> = {}) =>
  Effect.promise(
    () =>
      new Promise<RawResponse>((resolve, reject) => {
        const url = new URL(baseUrl)
        const outgoing = httpRequest(
          {
            host: url.hostname,
            port: url.port,
            method,
            path,
            headers: { "content-length": "0", ...headers }
          },
          (response) => {
            const chunks: Array<Buffer> = []
            response.on("data", (chunk: Buffer) => chunks.push(chunk))
            response.on("end", () => {
              const text = Buffer.concat(chunks).toString("utf8")
              let body: unknown
              try {
                body = text === "" ? undefined : JSON.parse(text)
              } catch {
                body = text
              }
              resolve({ status: response.statusCode ?? 0, headers: response.headers, body })
            })
          }
        )
        outgoing.on("error", reject)
        outgoing.end()
      })
  )

const errorCodeOf = (response: RawResponse) =>
  (response.body as { error?: { code?: string } } | undefined)?.error?.code

/** Every way of writing `path` that some reader of URLs takes for it. */
const spellingsOf = (path: string): ReadonlyArray<string> => {
  const [, , ...rest] = path.split("/") // "", "api", ...
  const tail = rest.join("/")
  return [
    `/API/${tail}`,
    `/Api/${tail.replace(/^([a-z])/, (c) => c.toUpperCase())}`,
    `//api/${tail}`,
    `/api//${tail}`,
    `/%61pi/${tail}`,
    `/%41PI/${tail}`,
    `/api/${tail.replace(/^([a-z])/, (c) => `%${c.charCodeAt(0).toString(16)}`)}`,
    `${path}/`,
    `/api/./${tail}`,
    `/api/x/../${tail}`,
    `/api/%2e/${tail}`,
    `/api/webapp/x/../../${tail}`,
    path
  ]
}

const statusOfMessage = (server: TestServer["Service"], id: string) =>
  Effect.map(
    server.sql<{ status: string }>`SELECT status FROM messages WHERE id = ${id}`,
    (rows) => rows[0]?.status
  ).pipe(Effect.orDie)

/** A reply that failed for good (the model refused with 401), ready to be retried by hand. */
const failedReply = (server: TestServer["Service"], api: ApiClient) =>
  Effect.gen(function* () {
    const { bot } = yield* server.addBot("Failing")
    const model = "model-of-failing"
    expectBody(yield* api.patch(`/api/bots/${bot.id}`, { model }), 200, BotView)
    yield* server.openai.failNext({ status: 401, model })
    const chatId = 7301
    assert.strictEqual((yield* postUpdate(server.baseUrl, bot, textUpdate(chatId, "answer me"))).status, 200)
    yield* eventually(() => server.telegram.sentTo(chatId).length > 0)
    yield* settled(server, bot.id)
    const rows = yield* server.sql<{ id: string }>`
      SELECT id FROM messages WHERE bot_id = ${bot.id} AND status = 'failed'`.pipe(Effect.orDie)
    assert.strictEqual(rows.length, 1)
    return rows[0]!.id
  })

layer(serverLayer(withAdmin({ webappOrigins: [MINI_APP] })), { timeout: 120_000, excludeTestServices: true })(
  "path spellings",
  (it) => {
    it.effect("the canonical spelling of each path", () =>
      Effect.sync(() => {
        assert.strictEqual(canonicalPathOf("//api//bots/"), "/api/bots")
        assert.strictEqual(canonicalPathOf("/%61pi/%62ots"), "/api/bots")
        assert.strictEqual(canonicalPathOf("/api/./x/../bots"), "/api/bots")
        assert.strictEqual(canonicalPathOf("/api/%2e%2e/%2E/bots"), "/bots")
        assert.strictEqual(
          canonicalPathOf("/API/Bots"),
          "/API/Bots",
          "case is kept: the router is case-sensitive"
        )
        assert.strictEqual(canonicalPathOf("/api/a%2fb"), "/api/a%2Fb", "an escaped slash stays escaped")
        for (const unreadable of [
          "api/bots",
          "/api/bots;x",
          "/api/%zz",
          "/api/%",
          "/api/%00",
          "/api\\bots",
          "/a b"
        ]) {
          assert.isUndefined(canonicalPathOf(unreadable), unreadable)
        }
      })
    )

    it.effect(
      "forged POSTs from a foreign origin, in every spelling, are 403 forbidden_origin and change nothing",
      () =>
        Effect.gen(function* () {
          const server = yield* TestServer
          const api = yield* loggedIn(server.baseUrl)
          const cookie = `${SESSION_COOKIE}=${api.cookie(SESSION_COOKIE)}`
          const { bot: enabled } = yield* server.addBot("StaysEnabled")
          const { bot: disabled } = yield* server.addBot("StaysDisabled")
          expectBody(yield* api.post(`/api/bots/${disabled.id}/disable`), 200, BotView)
          const failed = yield* failedReply(server, api)

          const targets = [
            `/api/bots/${enabled.id}/disable`,
            `/api/bots/${disabled.id}/enable`,
            `/api/bots/${enabled.id}/users/${BLOCKED_USER}/block`,
            `/api/messages/${failed}/retry`,
            `/api/failures/message:${failed}/retry`,
            "/api/auth/logout"
          ]
          for (const target of targets) {
            for (const spelling of spellingsOf(target)) {
              for (const origin of [STRANGER, MINI_APP, "null"]) {
                const forged = yield* raw(server.baseUrl, "POST", spelling, {
                  origin,
                  cookie,
                  "content-type": "application/x-www-form-urlencoded"
                })
                assert.strictEqual(
                  forged.status,
                  403,
                  `${origin} POST ${spelling}: ${JSON.stringify(forged.body)}`
                )
                assert.strictEqual(errorCodeOf(forged), "forbidden_origin", spelling)
              }
            }
          }

          assert.isTrue(expectBody(yield* api.get(`/api/bots/${enabled.id}`), 200, BotView).active)
          assert.notInclude(
            expectBody(yield* api.get(`/api/bots/${enabled.id}`), 200, BotView).blockedUserIds,
            BLOCKED_USER
          )
          assert.isFalse(expectBody(yield* api.get(`/api/bots/${disabled.id}`), 200, BotView).active)
          assert.strictEqual(yield* statusOfMessage(server, failed), "failed")
          assert.strictEqual((yield* api.get("/api/auth/me")).status, 200, "the session is still valid")
        })
    )

    it.effect("other spellings route to the same route or to none, never to another", () =>
      Effect.gen(function* () {
        const server = yield* TestServer
        const api = yield* loggedIn(server.baseUrl)
        const cookie = `${SESSION_COOKIE}=${api.cookie(SESSION_COOKIE)}`
        const { bot } = yield* server.addBot("Spelled")
        for (const spelling of spellingsOf(`/api/bots/${bot.id}`)) {
          const response = yield* raw(server.baseUrl, "GET", spelling, { cookie })
          if (/^\/(API|Api|%41PI)\//.test(spelling)) {
            // Capitals match no route: the router is case-sensitive.
            assert.strictEqual(response.status, 404, spelling)
          } else {
            assert.strictEqual(response.status, 200, `${spelling}: ${JSON.stringify(response.body)}`)
            assert.strictEqual((response.body as { id: string }).id, bot.id, spelling)
          }
        }
        // The rewritten path is what the API limit counts: its headers are on every spelling.
        const doubled = yield* raw(server.baseUrl, "GET", "//api//bots/", {})
        assert.strictEqual(doubled.status, 401)
        assert.isDefined(doubled.headers["x-ratelimit-limit"])
        const unreadable = yield* raw(server.baseUrl, "GET", "/api/bots;x=1", { cookie })
        assert.strictEqual(unreadable.status, 400)
        assert.strictEqual(errorCodeOf(unreadable), "invalid_path")
      })
    )

    it.effect(
      "the same spellings without Origin (a script) still work: the check is on origin, not path",
      () =>
        Effect.gen(function* () {
          const server = yield* TestServer
          const api = yield* loggedIn(server.baseUrl)
          const cookie = `${SESSION_COOKIE}=${api.cookie(SESSION_COOKIE)}`
          const { bot } = yield* server.addBot("Scripted")
          const disabled = yield* raw(server.baseUrl, "POST", `//api/bots/${bot.id}/disable/`, { cookie })
          assert.strictEqual(disabled.status, 200, JSON.stringify(disabled.body))
          assert.isFalse(expectBody(yield* api.get(`/api/bots/${bot.id}`), 200, BotView).active)
          expectError(
            yield* api.post(`/api/bots/${bot.id}/enable`, undefined, { headers: { origin: STRANGER } }),
            403,
            "forbidden_origin"
          )
          assert.isFalse(expectBody(yield* api.get(`/api/bots/${bot.id}`), 200, BotView).active)
        })
    )
  }
)
