/**
 * providers over HTTP, on the real server and PostgreSQL: CRUD,
 * every bad case (with its status, code and nothing stored or changed), a bot
 * answered by a second OpenAI-compatible server while another stays on the
 * env default, and the provider's key in no response and no log line.
 */
import { FakeOpenAI } from "@botfleet/testing"
import { assert, layer } from "@effect/vitest"
import { Effect, Schema } from "effect"
import { BotView, ProviderView } from "../../src/api/schemas.ts"
import { expectBody, expectError, loggedIn, unknownId, withAdmin } from "../support/apiClient.ts"
import {
  eventually,
  postUpdate,
  layer as serverLayer,
  settled,
  TestServer,
  textUpdate
} from "../support/inProcessServer.ts"
import { freePort } from "../support/serverProcess.ts"

const LOCAL_KEY = "sk-local-4f9a1c2b7e3d5a6f8b0c"
const WRONG_KEY = "sk-wrong-9d8c7b6a5f4e3d2c1b0a"

/** The stored provider rows: what a refused request must leave untouched. */
const providerRows = Effect.gen(function* () {
  const server = yield* TestServer
  return yield* server.sql<{
    name: string
    base_url: string
    api_key_ciphertext: string
  }>`SELECT name, base_url, api_key_ciphertext FROM providers ORDER BY name`.pipe(Effect.orDie)
})

layer(serverLayer(withAdmin({ logLevel: "trace" }), { captureOutput: true, recordLlmRequests: true }), {
  timeout: 120_000,
  excludeTestServices: true
})("providers API", (it) => {
  it.effect("create, read, edit and delete, with every bad case refused and nothing stored", () =>
    Effect.scoped(
      Effect.gen(function* () {
        const server = yield* TestServer
        const api = yield* loggedIn(server.baseUrl)
        const local = yield* FakeOpenAI.make({ apiKey: LOCAL_KEY })
        const baseUrl = local.baseUrl.href
        const valid = { name: "Local", baseUrl, apiKey: LOCAL_KEY, defaultModel: "llama-local" }

        // Bad input: 400 naming the problem.
        const malformed = yield* api.request("POST", "/api/providers", { raw: '{"name": "Local", ' })
        assert.include(expectError(malformed, 400, "invalid_request"), "JSON")
        const unknownField = yield* api.post("/api/providers", { ...valid, apiKeys: LOCAL_KEY })
        assert.include(expectError(unknownField, 400, "invalid_request"), "apiKeys")
        for (const bad of [
          "ftp://127.0.0.1/v1",
          "not a url",
          "http://user:pw@127.0.0.1/v1",
          `${baseUrl}?x=1`
        ]) {
          const refused = yield* api.post("/api/providers", { ...valid, baseUrl: bad })
          assert.include(expectError(refused, 400, "invalid_request"), "body.baseUrl:", bad)
        }
        const noKey = yield* api.post("/api/providers", { name: "Local", baseUrl })
        assert.include(expectError(noKey, 400, "invalid_request"), "body.apiKey:")
        // A key goes in a header: anything but visible ASCII is refused before the server is asked.
        for (const key of ["sk-with space", "sk-ключ", "sk-emoji-👋"]) {
          const refused = yield* api.post("/api/providers", { ...valid, apiKey: key })
          assert.include(expectError(refused, 400, "invalid_request"), "body.apiKey:", key)
        }
        const badPrice = yield* api.post("/api/providers", {
          ...valid,
          prices: { m: { input: -1, output: 1 } }
        })
        assert.include(expectError(badPrice, 400, "invalid_request"), "prices")

        // The server says no to the key: 422, nothing stored.
        const wrongKey = yield* api.post("/api/providers", { ...valid, apiKey: WRONG_KEY })
        assert.include(expectError(wrongKey, 422, "invalid_api_key"), "401")
        // Nobody answers, the server is down, or it is not an OpenAI-compatible API (no /v1): one
        // 503 with the same words for all, naming no errno, timeout or status, so the check is no
        // port scanner (it used to say ECONNREFUSED, 502 or 404: changed with the outbound guard).
        const closedPort = yield* Effect.promise(freePort)
        const nobody = yield* api.post("/api/providers", {
          ...valid,
          baseUrl: `http://127.0.0.1:${closedPort}/v1`
        })
        const unreachable = expectError(nobody, 503, "provider_unreachable")
        assert.notInclude(unreachable, "ECONNREFUSED")
        assert.strictEqual(nobody.headers.get("retry-after"), "30")
        yield* local.failNext({ status: 502 })
        assert.strictEqual(
          expectError(yield* api.post("/api/providers", valid), 503, "provider_unreachable"),
          unreachable
        )
        const noV1 = yield* api.post("/api/providers", { ...valid, baseUrl: baseUrl.replace(/\/v1$/, "") })
        assert.strictEqual(expectError(noV1, 503, "provider_unreachable"), unreachable)
        assert.deepStrictEqual(yield* providerRows, [])

        // Created: the key is checked, kept encrypted, shown as a hint only.
        const createdResponse = yield* api.post("/api/providers", {
          ...valid,
          baseUrl: `${baseUrl}/`,
          prices: { "llama-local": { input: 1, output: 2 } }
        })
        const created = expectBody(createdResponse, 201, ProviderView)
        assert.strictEqual(createdResponse.headers.get("location"), `/api/providers/${created.id}`)
        assert.strictEqual(created.baseUrl, baseUrl, "the trailing slash is dropped")
        assert.strictEqual(created.apiKeyHint, `…${LOCAL_KEY.slice(-4)}`)
        assert.strictEqual(created.defaultModel, "llama-local")
        assert.deepStrictEqual(created.prices, { "llama-local": { input: 1, output: 2 } })
        assert.deepStrictEqual(created.bots, [])
        assert.notProperty(created, "apiKey")
        const [row] = yield* providerRows
        assert.notInclude(row!.api_key_ciphertext, LOCAL_KEY)

        expectError(yield* api.post("/api/providers", { ...valid, name: "LOCAL" }), 409, "name_taken")
        assert.strictEqual((yield* providerRows).length, 1)

        const listed = expectBody(yield* api.get("/api/providers"), 200, Schema.Array(ProviderView))
        assert.deepStrictEqual(
          listed.map((provider) => provider.name),
          ["Local"]
        )
        assert.deepStrictEqual(
          expectBody(yield* api.get(`/api/providers/${created.id}`), 200, ProviderView),
          created
        )

        // Unknown ids: 404 everywhere; not an id: 400.
        expectError(yield* api.get(`/api/providers/${unknownId}`), 404, "provider_not_found")
        expectError(yield* api.patch(`/api/providers/${unknownId}`, { name: "X" }), 404, "provider_not_found")
        expectError(yield* api.delete(`/api/providers/${unknownId}`), 404, "provider_not_found")
        assert.include(expectError(yield* api.get("/api/providers/nope"), 400, "invalid_request"), "path.id:")

        // A new key is checked first: a refused one changes nothing.
        const before = yield* providerRows
        const refusedEdit = yield* api.patch(`/api/providers/${created.id}`, {
          apiKey: WRONG_KEY,
          name: "Renamed"
        })
        expectError(refusedEdit, 422, "invalid_api_key")
        // A new base URL needs its key (the stored one goes only to its own server); with one, it is checked.
        const keylessMove = yield* api.patch(`/api/providers/${created.id}`, {
          baseUrl: `http://127.0.0.1:${closedPort}/v1`
        })
        expectError(keylessMove, 422, "api_key_required")
        const unreachableEdit = yield* api.patch(`/api/providers/${created.id}`, {
          baseUrl: `http://127.0.0.1:${closedPort}/v1`,
          apiKey: LOCAL_KEY
        })
        expectError(unreachableEdit, 503, "provider_unreachable")
        assert.deepStrictEqual(yield* providerRows, before)
        const edited = expectBody(
          yield* api.patch(`/api/providers/${created.id}`, { defaultModel: null, prices: {} }),
          200,
          ProviderView
        )
        assert.strictEqual(edited.defaultModel, null)
        assert.deepStrictEqual(edited.prices, {})
        assert.strictEqual(edited.apiKeyHint, created.apiKeyHint)
        expectBody(
          yield* api.patch(`/api/providers/${created.id}`, { defaultModel: "llama-local" }),
          200,
          ProviderView
        )

        // A bot may point only at a stored provider.
        const { bot } = yield* server.addBot("Provided")
        const unknownProvider = yield* api.patch(`/api/bots/${bot.id}`, { providerId: unknownId })
        assert.include(expectError(unknownProvider, 422, "unknown_provider"), unknownId)
        const tooHot = yield* api.patch(`/api/bots/${bot.id}`, { temperature: 2.5 })
        assert.include(expectError(tooHot, 400, "invalid_request"), "body.temperature:")
        const zeroTokens = yield* api.patch(`/api/bots/${bot.id}`, { maxOutputTokens: 0 })
        assert.include(expectError(zeroTokens, 400, "invalid_request"), "body.maxOutputTokens:")
        const unchanged = expectBody(yield* api.get(`/api/bots/${bot.id}`), 200, BotView)
        assert.strictEqual(unchanged.providerId, null)
        assert.strictEqual(unchanged.temperature, null)

        const moved = expectBody(
          yield* api.patch(`/api/bots/${bot.id}`, {
            providerId: created.id,
            fallbackModel: "llama-small",
            temperature: 0.3,
            maxOutputTokens: 256
          }),
          200,
          BotView
        )
        assert.strictEqual(moved.providerId, created.id)
        assert.strictEqual(moved.fallbackModel, "llama-small")
        assert.strictEqual(moved.temperature, 0.3)
        assert.strictEqual(moved.maxOutputTokens, 256)
        assert.strictEqual(moved.effectiveModel, "llama-local", "the provider's default model")

        // In use: 409 naming the bot, and the provider stays.
        const inUse = yield* api.delete(`/api/providers/${created.id}`)
        assert.include(expectError(inUse, 409, "provider_in_use"), "Provided")
        const shown = expectBody(yield* api.get(`/api/providers/${created.id}`), 200, ProviderView)
        assert.deepStrictEqual(shown.bots, [{ id: bot.id, name: "Provided" }])

        // Back on the default, the provider can go.
        const back = expectBody(yield* api.patch(`/api/bots/${bot.id}`, { providerId: null }), 200, BotView)
        assert.strictEqual(back.providerId, null)
        assert.strictEqual((yield* api.delete(`/api/providers/${created.id}`)).status, 204)
        expectError(yield* api.get(`/api/providers/${created.id}`), 404, "provider_not_found")
        assert.deepStrictEqual(yield* providerRows, [])

        // The contract says so too: /openapi.json has the routes and the bot's new fields.
        const openapi = (yield* api.get("/openapi.json")).body as {
          paths: Record<string, Record<string, unknown>>
        }
        assert.hasAllKeys(openapi.paths["/api/providers"]!, ["get", "post"])
        assert.hasAllKeys(openapi.paths["/api/providers/{id}"]!, ["get", "patch", "delete"])
        for (const field of ["providerId", "fallbackModel", "temperature", "maxOutputTokens", "apiKeyHint"]) {
          assert.include(JSON.stringify(openapi), `"${field}"`)
        }

        // The key in no response (body or header) and no log line.
        const output = server.output()
        assert.include(output, '"message":"provider added"')
        for (const key of [LOCAL_KEY, WRONG_KEY]) {
          for (const response of api.responses()) {
            assert.notInclude(`${JSON.stringify([...response.headers])} ${response.text}`, key)
          }
          const line = output.split("\n").find((candidate) => candidate.includes(key))
          assert.isUndefined(line, `a log line quotes a key: ${line?.slice(0, 300)}`)
        }
      })
    )
  )

  it.effect("a bot on a second provider is answered by it; another bot stays on the env default", () =>
    Effect.scoped(
      Effect.gen(function* () {
        const server = yield* TestServer
        const api = yield* loggedIn(server.baseUrl)
        const local = yield* FakeOpenAI.make({
          apiKey: LOCAL_KEY,
          reply: (request) => `local ${request.model}: ${request.messages.at(-1)?.content ?? ""}`
        })
        const provider = expectBody(
          yield* api.post("/api/providers", {
            name: "Second",
            baseUrl: local.baseUrl.href,
            apiKey: LOCAL_KEY,
            defaultModel: "llama-local",
            prices: { "llama-local": { input: 1000, output: 2000 } }
          }),
          201,
          ProviderView
        )
        const onLocal = yield* server.addBot("OnLocal")
        const onDefault = yield* server.addBot("OnDefault")
        expectBody(
          yield* api.patch(`/api/bots/${onLocal.bot.id}`, {
            providerId: provider.id,
            temperature: 0.2,
            maxOutputTokens: 50
          }),
          200,
          BotView
        )
        yield* server.openai.clear

        // Private chats stream by default: the streamed path goes to the provider too.
        assert.strictEqual(
          (yield* postUpdate(server.baseUrl, onLocal.bot, textUpdate(5101, "hello local"))).status,
          200
        )
        assert.strictEqual(
          (yield* postUpdate(server.baseUrl, onDefault.bot, textUpdate(5102, "hello default"))).status,
          200
        )
        yield* eventually(
          () => server.telegram.sentTo(5101).length === 1 && server.telegram.sentTo(5102).length === 1
        )
        assert.strictEqual(server.telegram.sentTo(5101)[0]!.text, "local llama-local: hello local")
        assert.strictEqual(server.telegram.sentTo(5102)[0]!.text, "reply to: hello default")

        // And the plain (not streamed) path.
        expectBody(yield* api.patch(`/api/bots/${onLocal.bot.id}`, { streaming: false }), 200, BotView)
        // The bot cache lives 1 s: wait for the edit to show.
        yield* Effect.promise(() => new Promise((resolve) => setTimeout(resolve, 1_100)))
        yield* postUpdate(server.baseUrl, onLocal.bot, textUpdate(5101, "again"))
        yield* eventually(() => server.telegram.sentTo(5101).length === 2)
        yield* settled(server, onLocal.bot.id)

        const localRequests = yield* local.requests
        assert.deepStrictEqual(
          localRequests.map((request) => [
            request.model,
            request.apiKey,
            request.stream,
            request.temperature,
            request.maxTokens
          ]),
          [
            ["llama-local", LOCAL_KEY, true, 0.2, 50],
            ["llama-local", LOCAL_KEY, false, 0.2, 50]
          ]
        )
        const defaultRequests = yield* server.openai.requests
        assert.strictEqual(defaultRequests.length, 1, "the default server saw only the default bot")
        assert.strictEqual(defaultRequests[0]!.apiKey, "sk-test-key")
        assert.strictEqual(defaultRequests[0]!.temperature, undefined)
        assert.strictEqual(defaultRequests[0]!.maxTokens, undefined)

        // Priced with the provider's table: 1000 / 2000 USD per million tokens.
        const replies = yield* server.sql<{
          model: string
          input_tokens: number
          output_tokens: number
          cost_usd: string
        }>`
          SELECT model, input_tokens, output_tokens, cost_usd FROM messages
          WHERE bot_id = ${onLocal.bot.id} AND role = 'assistant' ORDER BY created_at`.pipe(Effect.orDie)
        assert.strictEqual(replies.length, 2)
        for (const reply of replies) {
          assert.strictEqual(reply.model, "llama-local")
          assert.isAbove(reply.output_tokens, 0)
          assert.closeTo(
            Number(reply.cost_usd),
            (reply.input_tokens * 1000 + reply.output_tokens * 2000) / 1_000_000,
            1e-9
          )
        }

        // The provider refuses its key later: the reply fails, and the error quoting the key is scrubbed.
        yield* local.failNext({ status: 401 })
        yield* postUpdate(server.baseUrl, onLocal.bot, textUpdate(5101, "still there?"))
        yield* eventually(() => server.telegram.sentTo(5101).length === 3)
        yield* settled(server, onLocal.bot.id)
        const failed = yield* server.sql<{ error: string }>`
          SELECT error FROM messages WHERE bot_id = ${onLocal.bot.id} AND status = 'failed'`.pipe(
          Effect.orDie
        )
        assert.strictEqual(failed.length, 1)
        assert.include(failed[0]!.error, "auth")
        assert.notInclude(failed[0]!.error, LOCAL_KEY)
        yield* api.get(`/api/failures?botId=${onLocal.bot.id}`)

        const output = server.output()
        for (const response of api.responses()) assert.notInclude(response.text, LOCAL_KEY)
        const line = output.split("\n").find((candidate) => candidate.includes(LOCAL_KEY))
        assert.isUndefined(line, `a log line quotes the provider's key: ${line?.slice(0, 300)}`)
      })
    )
  )
})
