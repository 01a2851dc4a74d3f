/**
 * Thousands of seeded poison requests against the real server on PostgreSQL:
 * mutated Telegram updates at the webhook, and mutated or type-confused
 * bodies, ids and queries for every admin operation (found by reflecting on
 * the HttpApi contract, bodies generated from its schemas). Asserted: only
 * 2xx/4xx, the webhook stores exactly what it acknowledged, the pipeline
 * never retries poison, every list loads, the server stays ready, and a
 * normal message right after poison in the same chat is answered within a
 * second. A failure names its seed and case: `Poison.random(SEED)` replays it.
 */

import { TelegramUpdates } from "@botfleet/adapters"
import { FakeMcpServer, Poison } from "@botfleet/testing"
import { assert, layer } from "@effect/vitest"
import { Arbitrary, Effect, Option, Schema } from "effect"
import { HttpApi } from "effect/http-api"
import { Api } from "../src/api/Api.ts"
import { ChatView, FailedUpdateView, MessageView, page } from "../src/api/schemas.ts"
import { type ApiClient, expectBody, loggedIn, unknownId, withAdmin } from "./support/apiClient.ts"
import {
  eventually,
  eventuallyEffect,
  postUpdate,
  layer as serverLayer,
  settled,
  TestServer,
  textUpdate
} from "./support/inProcessServer.ts"

const SEED = 15
const WEBHOOK_CASES = 1_000
const CASES_PER_OPERATION = 60
/** Chats the mutated text updates come from, so poison and normal messages share chats. */
// Many chats, so no chat's replies queue behind Telegram's per-chat limit (about one a second,
// kept by our send budget): a chat that just received poison answers the next message at once.
const CHATS = Array.from({ length: 500 }, (_, index) => 8_001 + index)

/** Every chat and every chat's messages load, and the server is ready. */
const everythingLoads = (api: ApiClient) =>
  Effect.gen(function* () {
    const chats = expectBody(yield* api.get("/api/chats?limit=200"), 200, page(ChatView))
    for (const chat of chats.items) {
      expectBody(yield* api.get(`/api/chats/${chat.id}/messages?limit=200`), 200, page(MessageView))
    }
    expectBody(yield* api.get("/api/bots"), 200, Schema.Array(Schema.Unknown))
    expectBody(yield* api.get("/api/failures?limit=200"), 200, page(MessageView))
    expectBody(yield* api.get("/api/failures/updates?limit=200"), 200, page(FailedUpdateView))
    const ready = yield* Effect.promise(() => fetch(`${api.baseUrl}/ready`))
    assert.strictEqual(ready.status, 200)
    return chats.items
  })

const inboxRows = (server: TestServer["Service"], botId: string) =>
  Effect.map(
    server.sql<{
      count: number
    }>`SELECT count(*)::int AS count FROM telegram_updates WHERE bot_id = ${botId}`,
    (rows) => rows[0]!.count
  ).pipe(Effect.orDie)

interface Operation {
  readonly method: string
  readonly path: string
  readonly payload: Schema.Top | undefined
  readonly name: string
}

/**
 * A provider or an MCP server is checked by asking its server, so generated
 * ones point at the fake OpenAI or the fake MCP server instead of at random
 * hosts (no network).
 */
const atFakeServer = (
  server: TestServer["Service"],
  mcpUrl: string,
  operation: Operation,
  sample: unknown
): unknown =>
  typeof sample !== "object" || sample === null
    ? sample
    : operation.path.startsWith("/api/providers") && "baseUrl" in sample
      ? { ...sample, baseUrl: server.openai.baseUrl.href }
      : operation.path.startsWith("/api/mcp-servers") && "url" in sample
        ? { ...sample, url: mcpUrl }
        : sample

/** Every admin operation, from the HttpApi contract itself: a new route is fuzzed without being listed here. */
const adminOperations = (): Array<Operation> => {
  const operations: Array<Operation> = []
  HttpApi.reflect(Api, {
    onGroup: () => {},
    onEndpoint: ({ endpoint, group }) => {
      operations.push({
        method: endpoint.method,
        path: endpoint.path,
        payload: endpoint.payload.get("application/json")?.schemas[0] as Schema.Top | undefined,
        name: `${group.identifier}.${endpoint.identifier}`
      })
    }
  })
  return operations
}

layer(serverLayer(withAdmin()), { timeout: 120_000, excludeTestServices: true })(
  "poison, generated",
  (it) => {
    it.effect(
      `${WEBHOOK_CASES} mutated updates at the webhook: 2xx/4xx only, nothing half-stored, chats go on`,
      () =>
        Effect.gen(function* () {
          const server = yield* TestServer
          const api = yield* loggedIn(server.baseUrl)
          const { bot } = yield* server.addBot("Fuzzed")
          const rng = Poison.random(SEED)
          const generated = yield* Arbitrary.sampleEffect(Arbitrary.schema(TelegramUpdates.TelegramUpdate), {
            count: 200,
            seed: SEED,
            size: 8
          })
          let updateId = 1_000_000
          let expectedRows = 0
          const statuses = new Map<number, number>()
          for (let index = 0; index < WEBHOOK_CASES; index++) {
            const chatId = rng.pick(CHATS)
            const base = rng.int(3) === 0 ? { ...rng.pick(generated) } : textUpdate(chatId, `hi ${index}`)
            const poison = Poison.mutate({ ...base, update_id: updateId++ }, rng)
            const where = `seed ${SEED}, case ${index}: ${Poison.toJsonText(poison).slice(0, 300)}`
            const response = yield* postUpdate(server.baseUrl, bot, null, {
              rawBody: Poison.toJsonText(poison)
            })
            statuses.set(response.status, (statuses.get(response.status) ?? 0) + 1)
            assert.isBelow(response.status, 500, where)
            expectedRows += response.status === 200 && response.body.duplicate !== true ? 1 : 0
            // Stored exactly when acknowledged as new: a 4xx or a duplicate stores nothing.
            assert.strictEqual(yield* inboxRows(server, bot.id), expectedRows, where)
            if (index % 100 === 99) {
              const text = `normal after case ${index}`
              const started = Date.now()
              const normal = yield* postUpdate(server.baseUrl, bot, textUpdate(chatId, text, updateId++))
              assert.strictEqual(normal.status, 200)
              expectedRows++
              // One message a second per chat (Telegram's limit, kept by the send budget): the reply
              // to the poison just before may hold this chat's turn for that second.
              yield* eventually(
                () => server.telegram.sentTo(chatId).some((sent) => sent.text === `reply to: ${text}`),
                2_500
              )
              assert.isBelow(Date.now() - started, 2_500, where)
            }
          }
          // Not vacuous: poison was both refused and (made safe and) accepted.
          assert.isAbove(statuses.get(400) ?? 0, 200, JSON.stringify([...statuses]))
          assert.isAbove(statuses.get(200) ?? 0, 100, JSON.stringify([...statuses]))
          // Everything accepted is processed or parked; nothing waits for a retry.
          yield* eventuallyEffect(
            Effect.map(
              server.sql<{ pending: number; retried: number }>`
            SELECT count(*) FILTER (WHERE status = 'pending')::int AS pending,
                   count(*) FILTER (WHERE attempts > 1)::int AS retried
            FROM telegram_updates WHERE bot_id = ${bot.id}`,
              (rows) => (rows[0]!.pending === 0 ? rows[0]! : undefined)
            ).pipe(Effect.orDie)
          ).pipe(Effect.tap((counts) => Effect.sync(() => assert.strictEqual(counts.retried, 0))))
          yield* everythingLoads(api)
        }),
      120_000
    )

    it.effect(
      "every field of every admin body: NUL or the wrong type is 400 naming that field, nothing stored",
      () =>
        Effect.gen(function* () {
          const server = yield* TestServer
          const mcp = yield* FakeMcpServer.make()
          const api = yield* loggedIn(server.baseUrl)
          const { bot } = yield* server.addBot("FieldByField")
          yield* postUpdate(server.baseUrl, bot, textUpdate(8_301, "hello"))
          const chat = yield* eventuallyEffect(
            Effect.map(
              server.sql<{ id: string }>`SELECT id FROM chats WHERE bot_id = ${bot.id}`,
              (rows) => rows[0]?.id
            ).pipe(Effect.orDie)
          )
          const ids: Record<string, string> = {
            "/api/bots": bot.id,
            "/api/chats": chat,
            "/api/webapp": bot.id
          }
          const snapshot = server.sql<{ bots: number; messages: number; admins: number }>`
          SELECT (SELECT count(*) FROM bots)::int AS bots, (SELECT count(*) FROM messages)::int AS messages,
                 (SELECT count(*) FROM admins)::int AS admins`.pipe(Effect.orDie)
          yield* eventually(() => server.telegram.sentTo(8_301).length > 0)
          yield* settled(server, bot.id)
          const before = yield* snapshot
          const withBody = adminOperations().filter((operation) => operation.payload !== undefined)
          assert.isAtLeast(withBody.length, 5)
          let checked = 0
          for (const operation of withBody) {
            // Every path parameter (:id, :botId) is the real id of what the route names.
            const path = operation.path.replace(/:\w+/, () => {
              const real = Object.entries(ids).find(([prefix]) => operation.path.startsWith(prefix))?.[1]
              return real ?? unknownId
            })
            const [sample] = yield* Arbitrary.sampleEffect(
              Arbitrary.schema(operation.payload as Schema.Codec<unknown>),
              { count: 1, seed: `${SEED}:${operation.name}`, size: 4 }
            )
            const valid = atFakeServer(server, mcp.url, operation, sample)
            // The payload's own field names, from its schema (a struct: an "Objects" node).
            const ast = operation.payload?.ast as unknown as {
              propertySignatures: ReadonlyArray<{ name: string }>
            }
            const fields = ast.propertySignatures.map((signature) => signature.name)
            const fieldSchema = (name: string) =>
              Schema.make<Schema.Codec<unknown>>(
                (
                  ast.propertySignatures.find((signature) => signature.name === name) as unknown as {
                    type: Schema.Codec<unknown>["ast"]
                  }
                ).type
              )
            for (const field of fields) {
              for (const value of ["a\u0000b", "\ud800", 12.5, ["list"], { nested: "\u0000" }]) {
                const body = { ...(valid as object), [field]: value }
                // Only a value the field refuses is poison for it (["list"] is a fine list of tool names).
                if (Option.isSome(Schema.decodeUnknownOption(fieldSchema(field))(value))) continue
                const response = yield* api.request(operation.method, path, { raw: Poison.toJsonText(body) })
                const where = `${operation.name} ${field}=${JSON.stringify(value)}`
                assert.strictEqual(response.status, 400, `${where} -> ${response.text}`)
                const error = (response.body as { error: { code: string; message: string } }).error
                assert.strictEqual(error.code, "invalid_request", where)
                // The field itself, or the element or member of it that is wrong (body.allowedUserIds[0]).
                assert.match(error.message, new RegExp(`^body\\.${field}[:.[]`), where)
                checked++
              }
            }
          }
          assert.isAtLeast(checked, 100)
          assert.deepStrictEqual(yield* snapshot, before)
        }),
      120_000
    )

    it.effect(
      `every admin operation, ${CASES_PER_OPERATION} mutated or type-confused requests each: 2xx/4xx only`,
      () =>
        Effect.gen(function* () {
          const server = yield* TestServer
          const mcp = yield* FakeMcpServer.make()
          const api = yield* loggedIn(server.baseUrl)
          const { bot: target } = yield* server.addBot("Target")
          const { bot: witness } = yield* server.addBot("Witness")
          yield* postUpdate(server.baseUrl, target, textUpdate(8_101, "hello"))
          // providers: a real one for its routes' ids, on the fake OpenAI.
          const provider = yield* api.post("/api/providers", {
            name: "Fuzzed",
            baseUrl: server.openai.baseUrl.href,
            apiKey: "sk-fuzzed-provider-key"
          })
          assert.strictEqual(provider.status, 201, provider.text)
          const chatIds = yield* eventuallyEffect(
            Effect.map(
              server.sql<{ chat: string; message: string }>`
            SELECT c.id AS chat, m.id AS message FROM chats c JOIN messages m ON m.chat_id = c.id
            WHERE c.bot_id = ${target.id} LIMIT 1`,
              (rows) => rows[0]
            ).pipe(Effect.orDie)
          )
          const realId: Record<string, string> = {
            "/api/bots": target.id,
            "/api/chats": chatIds.chat,
            "/api/messages": chatIds.message,
            "/api/webapp": target.id,
            "/api/providers": (provider.body as { id: string }).id
          }
          const rng = Poison.random(SEED)

          const operations = adminOperations()
          assert.isAtLeast(operations.length, 15)
          // Logging in with poison trips the login rate limit and logout ends the session: last.
          const order = (name: string) => (name === "auth.login" ? 1 : name === "auth.logout" ? 2 : 0)
          operations.sort((a, b) => order(a.name) - order(b.name))

          const pathFor = (path: string, method: string) =>
            path.replace(/:\w+/, () => {
              const real = Object.entries(realId).find(([prefix]) => path.startsWith(prefix))?.[1]
              // Never delete or disable the bot under test: the rest of the run needs it.
              const safeForReal = real !== undefined && !(method === "DELETE" || path.endsWith("/disable"))
              switch (rng.int(4)) {
                case 0:
                case 1:
                  return safeForReal ? real : unknownId
                case 2:
                  return unknownId
                default:
                  return Poison.toUrlComponent(Poison.toJsonText(Poison.poisonValue(rng)).slice(0, 100))
              }
            })
          const queryFor = () => {
            const keys = ["limit", "cursor", "botId", "userId", "period", "x"]
            const parts: Array<string> = []
            for (const key of keys) {
              if (rng.int(3) !== 0) continue
              const value = rng.pick([
                String(rng.pick(Poison.poisonNumbers)),
                rng.pick(Poison.poisonStrings).slice(0, 100),
                target.id,
                "day",
                Buffer.from(JSON.stringify([rng.pick(Poison.poisonNumbers), unknownId])).toString("base64url")
              ])
              parts.push(`${key}=${Poison.toUrlComponent(value)}`)
            }
            return parts.length === 0 ? "" : `?${parts.join("&")}`
          }

          let requests = 0
          const seen = new Map<string, number>()
          for (const operation of operations) {
            const samples = operation.payload
              ? (yield* Arbitrary.sampleEffect(Arbitrary.schema(operation.payload as Schema.Codec<unknown>), {
                  count: 20,
                  seed: `${SEED}:${operation.name}`,
                  size: 6
                })).map((sample) => atFakeServer(server, mcp.url, operation, sample))
              : [{}]
            for (let index = 0; index < CASES_PER_OPERATION; index++) {
              const path = `${pathFor(operation.path, operation.method)}${operation.method === "GET" ? queryFor() : ""}`
              const valid = rng.pick(samples)
              const kind = rng.int(6)
              const raw =
                operation.method === "GET" || operation.method === "DELETE"
                  ? undefined
                  : kind === 0
                    ? Poison.toJsonText(Poison.poisonValue(rng))
                    : kind === 1
                      ? rng.pick([
                          '{"name":',
                          "[]",
                          "null",
                          "\u0000",
                          '{"a":1}{"b":2}',
                          Poison.toJsonText(valid)
                        ])
                      : Poison.toJsonText(Poison.mutate(valid, rng))
              const response = yield* api.request(operation.method, path, raw === undefined ? {} : { raw })
              requests++
              const tally = `${operation.name} ${response.status}`
              seen.set(tally, (seen.get(tally) ?? 0) + 1)
              const where = `seed ${SEED}, ${operation.name} case ${index}: ${operation.method} ${path} ${raw?.slice(0, 300) ?? ""}`
              assert.isBelow(response.status, 500, `${where} -> ${response.text}`)
              if (response.status >= 400) {
                const error = (response.body as { error?: { code?: unknown } } | undefined)?.error
                assert.isString(error?.code, `${where} -> ${response.text}`)
              }
            }
            if (operation.name !== "auth.logout" && operation.name !== "auth.login")
              yield* everythingLoads(api)
          }
          assert.isAtLeast(requests, operations.length * CASES_PER_OPERATION)
          // Not vacuous: requests both got through and were refused, across the operations.
          const tallied = (ok: boolean) =>
            [...seen].filter(([tally]) => tally.endsWith(" 200") === ok).reduce((sum, [, n]) => sum + n, 0)
          assert.isAbove(tallied(true), 200, JSON.stringify([...seen]))
          assert.isAbove(tallied(false), 600, JSON.stringify([...seen]))

          // The server is fine and chats still work: a normal message is answered at once.
          const started = Date.now()
          yield* postUpdate(server.baseUrl, witness, textUpdate(8_201, "still there?"))
          yield* eventually(
            () => server.telegram.sentTo(8_201).some((sent) => sent.text === "reply to: still there?"),
            1_000
          )
          assert.isBelow(Date.now() - started, 1_000)
          const ready = yield* Effect.promise(() => fetch(`${server.baseUrl}/ready`))
          assert.strictEqual(ready.status, 200)
        }),
      // Grows with the API: 60 requests for each of its ~100 operations.
      300_000
    )
  }
)
