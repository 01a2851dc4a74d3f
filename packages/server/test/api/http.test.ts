/**
 * The API's HTTP surface: the OpenAPI document passes a standard validator
 * and lists every route of the contract, `/docs` serves the UI, and JSON
 * bodies over 1 MB are refused with 413 before anything is stored.
 */
import { assert, layer } from "@effect/vitest"
import { compileErrors, validate } from "@readme/openapi-parser"
import { Effect, Schema } from "effect"
import { HttpApi } from "effect/http-api"
import { Api } from "../../src/api/Api.ts"
import { BotView } from "../../src/api/schemas.ts"
import { expectBody, expectError, loggedIn, makeClient, withAdmin } from "../support/apiClient.ts"
import { layer as serverLayer, TestServer, telegramBot, textUpdate } from "../support/inProcessServer.ts"

const OpenApiDocument = Schema.Struct({
  openapi: Schema.String,
  paths: Schema.Record(
    Schema.String,
    Schema.Record(
      Schema.String,
      Schema.Struct({ operationId: Schema.String, security: Schema.optional(Schema.Array(Schema.Unknown)) })
    )
  )
})

/** Just over the limit, as valid JSON. */
const overOneMegabyte = (fields: object) => JSON.stringify({ ...fields, padding: "x".repeat(1024 * 1024) })

layer(serverLayer(withAdmin()), { timeout: 60_000, excludeTestServices: true })("HTTP surface", (it) => {
  it.effect("/openapi.json passes a standard OpenAPI validator", () =>
    Effect.gen(function* () {
      const server = yield* TestServer
      const response = yield* makeClient(server.baseUrl).get("/openapi.json")
      assert.strictEqual(response.status, 200)
      assert.match(response.headers.get("content-type") ?? "", /application\/json/)
      const result = yield* Effect.promise(() =>
        validate(structuredClone(response.body) as Parameters<typeof validate>[0])
      )
      assert.isTrue(result.valid, result.valid ? "" : compileErrors(result))
      assert.strictEqual(result.specification, "OpenAPI")
    })
  )

  it.effect(
    "/openapi.json lists every route of the contract; all but login, register, first-run setup and the Mini App need the cookie",
    () =>
      Effect.gen(function* () {
        const server = yield* TestServer
        const response = yield* makeClient(server.baseUrl).get("/openapi.json")
        const document = expectBody(response, 200, OpenApiDocument)
        assert.match(document.openapi, /^3\./)
        const operations = new Map<string, { security?: ReadonlyArray<unknown> | undefined }>()
        for (const [path, methods] of Object.entries(document.paths)) {
          for (const [method, operation] of Object.entries(methods))
            operations.set(`${method.toUpperCase()} ${path}`, operation)
        }
        let routes = 0
        HttpApi.reflect(Api, {
          onGroup: () => {},
          onEndpoint: ({ group, endpoint }) => {
            routes++
            const path = endpoint.path.replace(/:(\w+)/g, "{$1}").replace(/(.)\/$/, "$1")
            const operation = operations.get(`${endpoint.method} ${path}`)
            assert.isDefined(operation, `${endpoint.method} ${path} is documented`)
            // The Mini App routes authenticate with initData and a bearer token instead.
            const open =
              (group.identifier === "auth" && ["login", "register"].includes(endpoint.identifier)) ||
              group.identifier === "webapp" ||
              // The first run has no admin to sign in; the setup link's token is the credential.
              group.identifier === "setup" ||
              // An invitee has no session yet; the invitation's one-time token is the credential.
              group.identifier === "invitations"
            assert.strictEqual(
              (operation!.security ?? []).length === 0,
              open,
              `${endpoint.method} ${path} security`
            )
          }
        })
        assert.strictEqual(operations.size, routes, "nothing documented that the contract does not have")
      })
  )

  it.effect("/docs serves the interactive UI as HTML", () =>
    Effect.gen(function* () {
      const server = yield* TestServer
      const response = yield* makeClient(server.baseUrl).get("/docs")
      assert.strictEqual(response.status, 200)
      assert.match(response.headers.get("content-type") ?? "", /text\/html/)
      assert.match(response.text, /^<!doctype html>/i)
      assert.include(response.text, "Botfleet admin API")
    })
  )

  it.effect("a JSON body over 1 MB is 413 payload_too_large and stores nothing", () =>
    Effect.gen(function* () {
      const server = yield* TestServer
      const api = yield* loggedIn(server.baseUrl)
      const { token } = telegramBot(server.telegram, "Huge")
      const created = yield* api.request("POST", "/api/bots", {
        raw: overOneMegabyte({ name: "Huge", token })
      })
      expectError(created, 413, "payload_too_large")
      const bots = expectBody(yield* api.get("/api/bots"), 200, Schema.Array(BotView))
      assert.notInclude(
        bots.map((bot) => bot.name),
        "Huge"
      )

      const { bot } = yield* server.addBot("Small")
      const patched = yield* api.request("PATCH", `/api/bots/${bot.id}`, {
        raw: overOneMegabyte({ systemPrompt: "long" })
      })
      expectError(patched, 413, "payload_too_large")
      const login = yield* makeClient(server.baseUrl).request("POST", "/api/auth/login", {
        raw: overOneMegabyte({ email: "a@example.com", password: "x" })
      })
      expectError(login, 413, "payload_too_large")
      // Just under the limit is read (and then judged on its content).
      const under = yield* api.request("PATCH", `/api/bots/${bot.id}`, {
        raw: JSON.stringify({ systemPrompt: "x".repeat(1000 * 1000) })
      })
      expectError(under, 400, "invalid_request")
    })
  )

  // BUG: the 415 from HttpApi's payload decoding is passed through as text/plain
  // ("Unsupported content-type: text/plain"); errorBodies.ts has no mapping for it.
  it.effect("a body sent as another content type is 415 in the contract's error shape", () =>
    Effect.gen(function* () {
      const server = yield* TestServer
      const api = yield* loggedIn(server.baseUrl)
      const response = yield* api.request("POST", "/api/bots", {
        raw: JSON.stringify({ name: "Typed", token: "1:x" }),
        headers: { "content-type": "text/plain" }
      })
      assert.strictEqual(response.status, 415)
      assert.match(response.headers.get("content-type") ?? "", /application\/json/)
      const body = Schema.decodeUnknownSync(
        Schema.Struct({ error: Schema.Struct({ code: Schema.String, message: Schema.String }) })
      )(response.body)
      assert.isNotEmpty(body.error.code)
    })
  )
  it.effect(
    "every response carries an X-Request-Id: a success, a 404, a 401 and the webhook's; a sane one sent is echoed",
    () =>
      Effect.gen(function* () {
        const server = yield* TestServer
        const REQUEST_ID = /^[\w.:-]{1,128}$/
        const idOf = (response: { readonly headers: Headers }) => response.headers.get("x-request-id") ?? ""
        const client = yield* loggedIn(server.baseUrl)

        const success = yield* client.get("/api/bots")
        assert.strictEqual(success.status, 200)
        assert.match(idOf(success), REQUEST_ID)

        const missing = yield* client.get("/api/no-such-route")
        expectError(missing, 404, "not_found")
        assert.match(idOf(missing), REQUEST_ID)
        assert.notStrictEqual(idOf(missing), idOf(success), "each request gets its own id")

        const anonymous = yield* makeClient(server.baseUrl).get("/api/bots")
        expectError(anonymous, 401, "unauthorized")
        assert.match(idOf(anonymous), REQUEST_ID)

        const echoed = yield* client.get("/api/bots", { headers: { "x-request-id": "trace-42.a:b" } })
        assert.strictEqual(idOf(echoed), "trace-42.a:b")
        const insane = yield* client.get("/api/bots", { headers: { "x-request-id": "a b<c>" } })
        assert.match(idOf(insane), REQUEST_ID)
        assert.notStrictEqual(idOf(insane), "a b<c>")

        const { bot } = yield* server.addBot("Request ids")
        const webhook = (secret: string) =>
          Effect.promise(() =>
            fetch(`${server.baseUrl}/telegram/webhook/${bot.id}`, {
              method: "POST",
              headers: { "content-type": "application/json", "x-telegram-bot-api-secret-token": secret },
              body: JSON.stringify(textUpdate(4242, "hello"))
            })
          )
        const accepted = yield* webhook(bot.webhookSecret)
        assert.strictEqual(accepted.status, 200)
        assert.match(idOf(accepted), REQUEST_ID)
        const refused = yield* webhook("wrong")
        assert.strictEqual(refused.status, 401)
        assert.match(idOf(refused), REQUEST_ID)
      })
  )
})
