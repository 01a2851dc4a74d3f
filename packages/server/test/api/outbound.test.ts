/**
 * The outbound guard over HTTP, on the real server and PostgreSQL: a stored
 * provider key never follows a new base URL; metadata URLs as a provider's
 * base URL or the alert webhook are 422 `url_not_allowed` with nothing
 * stored; a redirect is not followed; OUTBOUND_PRIVATE_NETWORKS=deny
 * refuses 127.0.0.1 and localhost; and a provider's error body (with a
 * secret-looking marker) reaches no stored error, API view, alert or log.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http"
import type { AddressInfo } from "node:net"
import { FakeOpenAI } from "@botfleet/testing"
import { assert, layer } from "@effect/vitest"
import { Effect } from "effect"
import { AlertSettingsView, BotView, ProviderView } from "../../src/api/schemas.ts"
import { expectBody, expectError, loggedIn, withAdmin } from "../support/apiClient.ts"
import {
  eventually,
  eventuallyEffect,
  postUpdate,
  layer as serverLayer,
  settled,
  TestServer,
  textUpdate
} from "../support/inProcessServer.ts"

const LOCAL_KEY = "sk-local-5e8b2c9d0a1f3e4d6c7b"
const OTHER_KEY = "sk-other-0f1e2d3c4b5a69788796"
const MARKER = "sk-live-LEAKED-9c2e7f"

interface Recorder {
  readonly origin: string
  /** Each request as "METHOD /path", with its JSON body when there was one. */
  readonly received: Array<{ readonly line: string; readonly body: unknown }>
}

/** An HTTP server on 127.0.0.1 that records what it gets and answers with `answer`. */
const recorder = (answer: (request: IncomingMessage, response: ServerResponse) => void = (_, r) => r.end()) =>
  Effect.acquireRelease(
    Effect.promise(
      () =>
        new Promise<{ server: Server; recorder: Recorder }>((resolve) => {
          const received: Recorder["received"] = []
          const server = createServer((request, response) => {
            let raw = ""
            request.on("data", (chunk) => {
              raw += chunk
            })
            request.on("end", () => {
              received.push({
                line: `${request.method} ${request.url}`,
                body: raw === "" ? null : JSON.parse(raw)
              })
              answer(request, response)
            })
          })
          server.listen(0, "127.0.0.1", () => {
            const { port } = server.address() as AddressInfo
            resolve({ server, recorder: { origin: `http://127.0.0.1:${port}`, received } })
          })
        })
    ),
    ({ server }) =>
      Effect.promise(
        () =>
          new Promise<void>((resolve) => {
            server.closeAllConnections()
            server.close(() => resolve())
          })
      )
  ).pipe(Effect.map(({ recorder }) => recorder))

/** What a refused request must leave untouched. */
const storedState = Effect.gen(function* () {
  const server = yield* TestServer
  const providers = yield* server.sql<{ name: string; base_url: string; api_key_ciphertext: string }>`
    SELECT name, base_url, api_key_ciphertext FROM providers ORDER BY name`.pipe(Effect.orDie)
  const alerts = yield* server.sql<{ settings: unknown }>`
    SELECT to_jsonb(a) AS settings FROM alert_settings a`.pipe(Effect.orDie)
  return { providers, alerts }
})

const METADATA_URLS = [
  "http://169.254.169.254/latest/meta-data",
  "http://2852039166/v1",
  "http://0xa9fea9fe/v1",
  "http://[::ffff:169.254.169.254]/v1",
  "http://[fd00:ec2::254]/v1"
]

layer(serverLayer(withAdmin(), { captureOutput: true }), { timeout: 180_000, excludeTestServices: true })(
  "outbound guard",
  (it) => {
    it.effect(
      "a PATCH of baseUrl alone is 422 api_key_required: the new host gets nothing, nothing changes",
      () =>
        Effect.scoped(
          Effect.gen(function* () {
            const server = yield* TestServer
            const api = yield* loggedIn(server.baseUrl)
            const local = yield* FakeOpenAI.make({ apiKey: LOCAL_KEY })
            const elsewhere = yield* recorder()
            const created = expectBody(
              yield* api.post("/api/providers", {
                name: "Keyed",
                baseUrl: local.baseUrl.href,
                apiKey: LOCAL_KEY
              }),
              201,
              ProviderView
            )
            const before = yield* storedState
            for (const patch of [
              { baseUrl: `${elsewhere.origin}/v1` },
              { baseUrl: `${elsewhere.origin}/v1`, name: "Moved" },
              { baseUrl: `${local.baseUrl.origin}/other/v1` }
            ]) {
              const refused = yield* api.patch(`/api/providers/${created.id}`, patch)
              assert.include(expectError(refused, 422, "api_key_required"), "apiKey", JSON.stringify(patch))
            }
            assert.deepStrictEqual(elsewhere.received, [], "the new address received nothing")
            assert.deepStrictEqual(yield* storedState, before)

            // With the new server's own key the move is checked there, with that key only.
            const other = yield* FakeOpenAI.make({ apiKey: OTHER_KEY })
            const moved = expectBody(
              yield* api.patch(`/api/providers/${created.id}`, {
                baseUrl: other.baseUrl.href,
                apiKey: OTHER_KEY
              }),
              200,
              ProviderView
            )
            assert.strictEqual(moved.baseUrl, other.baseUrl.href)
            assert.strictEqual(moved.apiKeyHint, `…${OTHER_KEY.slice(-4)}`)
            // The same base URL again is no move: no key needed.
            const renamed = expectBody(
              yield* api.patch(`/api/providers/${created.id}`, {
                baseUrl: `${other.baseUrl.href}/`,
                name: "Kept"
              }),
              200,
              ProviderView
            )
            assert.strictEqual(renamed.name, "Kept")
            assert.strictEqual((yield* api.delete(`/api/providers/${created.id}`)).status, 204)
          })
        )
    )

    it.effect(
      "metadata URLs as a provider's baseUrl or the alert webhookUrl: 422 url_not_allowed, nothing stored",
      () =>
        Effect.scoped(
          Effect.gen(function* () {
            const server = yield* TestServer
            const api = yield* loggedIn(server.baseUrl)
            const local = yield* FakeOpenAI.make({ apiKey: LOCAL_KEY })
            const created = expectBody(
              yield* api.post("/api/providers", {
                name: "Guarded",
                baseUrl: local.baseUrl.href,
                apiKey: LOCAL_KEY
              }),
              201,
              ProviderView
            )
            const before = yield* storedState
            for (const baseUrl of METADATA_URLS) {
              const onCreate = yield* api.post("/api/providers", {
                name: "Metadata",
                baseUrl,
                apiKey: LOCAL_KEY
              })
              assert.include(expectError(onCreate, 422, "url_not_allowed"), "never allowed", baseUrl)
              const onEdit = yield* api.patch(`/api/providers/${created.id}`, { baseUrl, apiKey: LOCAL_KEY })
              assert.include(expectError(onEdit, 422, "url_not_allowed"), "baseUrl", baseUrl)
              const hook = yield* api.request("PUT", "/api/settings/alerts", {
                json: { webhookUrl: `${baseUrl}/hooks/secret-path` }
              })
              const message = expectError(hook, 422, "url_not_allowed")
              assert.include(message, "webhookUrl", baseUrl)
              assert.notInclude(message, "secret-path", "the webhook's path is a secret")
            }
            assert.deepStrictEqual(yield* storedState, before)
            assert.strictEqual((yield* local.requests).length, 0)
            assert.strictEqual((yield* api.delete(`/api/providers/${created.id}`)).status, 204)
          })
        )
    )

    it.effect(
      "a redirect from an allowed server is not followed, to a metadata URL or to a real server",
      () =>
        Effect.scoped(
          Effect.gen(function* () {
            const server = yield* TestServer
            const api = yield* loggedIn(server.baseUrl)
            const target = yield* FakeOpenAI.make({ apiKey: LOCAL_KEY })
            const toTarget = yield* recorder((_, response) => {
              response.writeHead(302, { location: `${target.baseUrl.href}/models` }).end()
            })
            const toMetadata = yield* recorder((_, response) => {
              response.writeHead(307, { location: "http://169.254.169.254/latest/meta-data/" }).end()
            })
            const before = yield* storedState
            for (const redirecting of [toTarget, toMetadata]) {
              const refused = yield* api.post("/api/providers", {
                name: "Redirected",
                baseUrl: `${redirecting.origin}/v1`,
                apiKey: LOCAL_KEY
              })
              const message = expectError(refused, 503, "provider_unreachable")
              assert.notInclude(message, "30")
              assert.deepStrictEqual(
                redirecting.received.map((request) => request.line),
                ["GET /v1/models"]
              )
            }
            assert.deepStrictEqual(yield* storedState, before)

            // Alert deliveries do not follow one either: the redirect's target is never posted to.
            const hookTarget = yield* recorder()
            const hook = yield* recorder((_, response) => {
              response.writeHead(307, { location: `${hookTarget.origin}/stolen` }).end()
            })
            expectBody(
              yield* api.request("PUT", "/api/settings/alerts", {
                json: { webhookUrl: `${hook.origin}/hook` }
              }),
              200,
              AlertSettingsView
            )
            const { bot, token } = yield* server.addBot("Redirected alerts")
            server.telegram.revokeToken(token)
            yield* postUpdate(server.baseUrl, bot, textUpdate(9301, "hello"))
            yield* eventually(() => hook.received.length > 0, 60_000)
            assert.deepStrictEqual(hookTarget.received, [])
            expectBody(
              yield* api.request("PUT", "/api/settings/alerts", { json: { webhookUrl: null } }),
              200,
              AlertSettingsView
            )
          })
        )
    )

    it.effect(
      "a provider's 500 with a long body and a secret-looking marker: status and a short message everywhere, never the marker",
      () =>
        Effect.scoped(
          Effect.gen(function* () {
            const server = yield* TestServer
            const api = yield* loggedIn(server.baseUrl)
            const local = yield* FakeOpenAI.make({ apiKey: LOCAL_KEY })
            const hook = yield* recorder((_, response) => response.end("ok"))
            expectBody(
              yield* api.request("PUT", "/api/settings/alerts", {
                json: { webhookUrl: `${hook.origin}/llm` }
              }),
              200,
              AlertSettingsView
            )
            const provider = expectBody(
              yield* api.post("/api/providers", {
                name: "Leaky",
                baseUrl: local.baseUrl.href,
                apiKey: LOCAL_KEY,
                defaultModel: "llama-leaky"
              }),
              201,
              ProviderView
            )
            const { bot } = yield* server.addBot("Leaky")
            expectBody(
              yield* api.patch(`/api/bots/${bot.id}`, { providerId: provider.id, streaming: false }),
              200,
              BotView
            )
            yield* local.failNext({
              status: 500,
              times: Number.POSITIVE_INFINITY,
              body: {
                error: {
                  message: `upstream said: ${MARKER} ${"internal detail ".repeat(4_000)}`,
                  type: "server_error",
                  code: MARKER
                }
              }
            })
            yield* postUpdate(server.baseUrl, bot, textUpdate(9401, "are you there?"))
            // Retried with backoff until the pipeline gives up (about 45 s), then stored as failed.
            const failedReply = server.sql<{ error: string }>`
              SELECT error FROM messages WHERE bot_id = ${bot.id} AND role = 'assistant' AND status = 'failed'`
            const error = yield* eventuallyEffect(
              Effect.map(failedReply.pipe(Effect.orDie), (rows) => rows[0]?.error),
              120_000
            )
            yield* settled(server, bot.id)
            assert.include(error, "HTTP 500")
            assert.include(error, "server_error")
            assert.notInclude(error, MARKER)
            assert.isBelow(error.length, 300)

            yield* eventually(
              () => hook.received.some((request) => JSON.stringify(request.body).includes("llm_failing")),
              60_000
            )
            const alert = hook.received.find((request) =>
              JSON.stringify(request.body).includes("llm_failing")
            )!
            assert.include(JSON.stringify(alert.body), "HTTP 500")
            assert.notInclude(JSON.stringify(alert.body), MARKER)

            // What the console shows comes from these views.
            const views = [
              yield* api.get(`/api/failures?botId=${bot.id}`),
              yield* api.get("/api/failures"),
              yield* api.get(`/api/bots/${bot.id}`),
              yield* api.get(`/api/chats?botId=${bot.id}`)
            ]
            const chats = views[3]!.body as { items: ReadonlyArray<{ id: string }> }
            views.push(yield* api.get(`/api/chats/${chats.items[0]!.id}/messages`))
            assert.include(views[0]!.text, "HTTP 500")
            for (const view of views) assert.notInclude(view.text, MARKER)
            const line = server
              .output()
              .split("\n")
              .find((candidate) => candidate.includes(MARKER))
            assert.isUndefined(line, `a log line quotes the provider's body: ${line?.slice(0, 300)}`)
            expectBody(
              yield* api.request("PUT", "/api/settings/alerts", { json: { webhookUrl: null } }),
              200,
              AlertSettingsView
            )
          })
        ),
      180_000
    )
  }
)

layer(serverLayer(withAdmin({ outboundPrivateNetworks: "deny" })), {
  timeout: 120_000,
  excludeTestServices: true
})("outbound guard with OUTBOUND_PRIVATE_NETWORKS=deny", (it) => {
  it.effect(
    "127.0.0.1 and localhost are refused for providers and alert webhooks; nothing stored, nothing sent",
    () =>
      Effect.scoped(
        Effect.gen(function* () {
          const server = yield* TestServer
          const api = yield* loggedIn(server.baseUrl)
          const local = yield* FakeOpenAI.make({ apiKey: LOCAL_KEY })
          const hook = yield* recorder()
          const before = yield* storedState
          for (const baseUrl of [local.baseUrl.href, local.baseUrl.href.replace("127.0.0.1", "localhost")]) {
            const refused = yield* api.post("/api/providers", { name: "Local", baseUrl, apiKey: LOCAL_KEY })
            assert.include(
              expectError(refused, 422, "url_not_allowed"),
              "OUTBOUND_PRIVATE_NETWORKS=deny",
              baseUrl
            )
          }
          for (const webhookUrl of [
            `${hook.origin}/hook`,
            `${hook.origin.replace("127.0.0.1", "localhost")}/hook`
          ]) {
            const refused = yield* api.request("PUT", "/api/settings/alerts", { json: { webhookUrl } })
            assert.include(expectError(refused, 422, "url_not_allowed"), "OUTBOUND_PRIVATE_NETWORKS=deny")
          }
          assert.deepStrictEqual(yield* storedState, before)
          assert.strictEqual((yield* local.requests).length, 0)
          assert.deepStrictEqual(hook.received, [])
        })
      )
  )
})
