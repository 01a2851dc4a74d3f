/**
 * Poison input, one case per way it used to hurt: every answer is a 2xx or a
 * 4xx with the contract's error, nothing is half-stored, and the lists still
 * load afterwards. (poisonProperty.test.ts throws thousands of generated cases
 * at the same edges.)
 */
import { connect } from "node:net"
import { type Bot, MAX_MESSAGE_ID } from "@botfleet/domain"
import { Poison } from "@botfleet/testing"
import { assert, layer } from "@effect/vitest"
import { Effect, Option, Schema } from "effect"
import { ChatView, FailedUpdateView, MessageView, page } from "../src/api/schemas.ts"
import {
  type ApiClient,
  expectBody,
  expectError,
  loggedIn,
  makeClient,
  withAdmin
} from "./support/apiClient.ts"
import {
  eventually,
  postUpdate,
  layer as serverLayer,
  settled,
  storedUpdates,
  TestServer,
  textUpdate
} from "./support/inProcessServer.ts"
import { makeToken } from "./support/testConfig.ts"

/** Of the right shape, so the schema passes it and the field under test is the one refused. */
const WELL_FORMED_TOKEN = makeToken()

const countRows = (server: TestServer["Service"], table: "bots" | "messages" | "admins") =>
  Effect.map(
    server.sql<{ count: number }>`SELECT count(*)::int AS count FROM ${server.sql(table)}`,
    (rows) => rows[0]!.count
  ).pipe(Effect.orDie)

/** Every chat of the bot, and every chat's messages, load with 200. */
const listsLoad = (api: ApiClient, botId: string) =>
  Effect.gen(function* () {
    const chats = expectBody(yield* api.get(`/api/chats?botId=${botId}&limit=200`), 200, page(ChatView))
    for (const chat of chats.items) {
      expectBody(yield* api.get(`/api/chats/${chat.id}/messages?limit=200`), 200, page(MessageView))
    }
    expectBody(yield* api.get("/api/chats?limit=200"), 200, page(ChatView))
    return chats.items
  })

/** A text message in `chatId` right after poison is answered within a second. */
const answeredWithinASecond = (server: TestServer["Service"], bot: Bot, chatId: number, text: string) =>
  Effect.gen(function* () {
    const started = Date.now()
    const response = yield* postUpdate(server.baseUrl, bot, textUpdate(chatId, text))
    assert.strictEqual(response.status, 200)
    yield* eventually(
      () => server.telegram.sentTo(chatId).some((sent) => sent.text === `reply to: ${text}`),
      1_000
    )
    return Date.now() - started
  })

const withMessage = (update: ReturnType<typeof textUpdate>, message: Record<string, unknown>) => ({
  ...update,
  message: { ...update.message, ...message }
})

layer(serverLayer(withAdmin()), { timeout: 60_000, excludeTestServices: true })(
  "poison at the webhook",
  (it) => {
    it.effect("NUL and lone surrogates in text, names and keys are stored as U+FFFD and answered", () =>
      Effect.gen(function* () {
        const server = yield* TestServer
        const api = yield* loggedIn(server.baseUrl)
        const { bot } = yield* server.addBot("Nul")
        const update = textUpdate(7001, "a\u0000b\ud800c")
        const poisoned = {
          ...update,
          "odd\u0000key": "x",
          message: {
            ...update.message,
            chat: { ...update.message.chat, title: "t\udc00", first_name: "Ann\u0000" },
            from: { ...update.message.from, first_name: "Ann\u0000\ud800", username: "u\u0000" }
          }
        }
        const response = yield* postUpdate(server.baseUrl, bot, poisoned)
        assert.strictEqual(response.status, 200)
        yield* eventually(() =>
          server.telegram.sentTo(7001).some((sent) => sent.text === "reply to: a\uFFFDb\uFFFDc")
        )
        yield* settled(server, bot.id)
        const [stored] = yield* server.sql<{ payload: { message: { text: string } }; status: string }>`
        SELECT payload, status FROM telegram_updates WHERE bot_id = ${bot.id}`.pipe(Effect.orDie)
        assert.strictEqual(stored?.payload.message.text, "a\uFFFDb\uFFFDc")
        assert.strictEqual(stored?.status, "done")
        const [chat] = yield* listsLoad(api, bot.id)
        assert.strictEqual(chat?.user?.firstName, "Ann\uFFFD\uFFFD")
        const messages = expectBody(yield* api.get(`/api/chats/${chat?.id}/messages`), 200, page(MessageView))
        assert.include(
          messages.items.map((message) => message.text),
          "a\uFFFDb\uFFFDc"
        )
      })
    )

    it.effect("a body nested 5,000 deep is 400 invalid_update and stores nothing", () =>
      Effect.gen(function* () {
        const server = yield* TestServer
        const { bot } = yield* server.addBot("Deep")
        const deep = `${"[".repeat(5_000)}1${"]".repeat(5_000)}`
        const update = textUpdate(7002, "hi")
        const response = yield* postUpdate(server.baseUrl, bot, null, {
          rawBody: `${JSON.stringify(update).slice(0, -1)},"extra":${deep}}`
        })
        assert.strictEqual(response.status, 400)
        assert.deepStrictEqual(response.body, {
          error: { code: "invalid_update", message: "the update is nested deeper than 32 levels" }
        })
        assert.strictEqual(yield* storedUpdates(server, bot.id), 0)
        const ms = yield* answeredWithinASecond(server, bot, 7002, "still here")
        assert.isBelow(ms, 1_000)
      })
    )

    it.effect("a chat id beyond 2^53 is 400 naming the field; nothing stored; lists load", () =>
      Effect.gen(function* () {
        const server = yield* TestServer
        const api = yield* loggedIn(server.baseUrl)
        const { bot } = yield* server.addBot("Huge")
        const update = textUpdate(7003, "hi")
        const response = yield* postUpdate(server.baseUrl, bot, null, {
          // Written by hand: 2^53 + 2 would be rounded by JSON.stringify's caller anyway.
          rawBody: JSON.stringify(update).replace('"chat":{"id":7003', '"chat":{"id":9007199254740995')
        })
        assert.strictEqual(response.status, 400)
        assert.deepStrictEqual(response.body, {
          error: {
            code: "invalid_update",
            message: "message.chat.id: expected an integer from -4503599627370496 to 4503599627370496"
          }
        })
        assert.strictEqual(yield* storedUpdates(server, bot.id), 0)
        assert.deepStrictEqual(yield* listsLoad(api, bot.id), [])
      })
    )

    it.effect("fractional ids are 400 at once; the chat's next message is answered within a second", () =>
      Effect.gen(function* () {
        const server = yield* TestServer
        const api = yield* loggedIn(server.baseUrl)
        const { bot } = yield* server.addBot("Fraction")
        const update = textUpdate(7004, "hi")
        const cases = [
          [
            withMessage(update, { message_id: 2.5 }),
            `message.message_id: expected an integer from 1 to ${MAX_MESSAGE_ID}`
          ],
          [
            withMessage(update, { from: { ...update.message.from, id: 3.25 } }),
            "message.from.id: expected an integer from -4503599627370496 to 4503599627370496"
          ],
          [
            withMessage(update, { chat: { id: -0.25, type: "private" } }),
            "message.chat.id: expected an integer from -4503599627370496 to 4503599627370496"
          ]
        ] as const
        for (const [body, message] of cases) {
          const response = yield* postUpdate(server.baseUrl, bot, body)
          assert.strictEqual(response.status, 400)
          assert.deepStrictEqual(response.body, {
            error: { code: "invalid_update", message }
          })
        }
        assert.strictEqual(yield* storedUpdates(server, bot.id), 0)
        const ms = yield* answeredWithinASecond(server, bot, 7004, "after the fractions")
        assert.isBelow(ms, 1_000)
        assert.lengthOf(yield* listsLoad(api, bot.id), 1)
      })
    )

    it.effect(
      "a client that stops sending mid-body is not answered 413 (only a body over the limit is)",
      () =>
        Effect.gen(function* () {
          const server = yield* TestServer
          const { bot } = yield* server.addBot("Quitter")
          const url = new URL(server.baseUrl)
          // Declares 5,000 bytes, sends 22 and closes its side: the body ends early.
          const answer = yield* Effect.promise(
            () =>
              new Promise<string>((resolve, reject) => {
                let answer = ""
                const socket = connect(Number(url.port), url.hostname, () => {
                  socket.end(
                    [
                      `POST /telegram/webhook/${bot.id} HTTP/1.1`,
                      `host: ${url.host}`,
                      "content-type: application/json",
                      `x-telegram-bot-api-secret-token: ${bot.webhookSecret}`,
                      "content-length: 5000",
                      "",
                      '{"update_id": 1, "mess'
                    ].join("\r\n")
                  )
                })
                socket.on("data", (chunk) => {
                  answer += chunk.toString()
                })
                socket.on("close", () => resolve(answer))
                socket.on("error", reject)
              })
          )
          // Node answers the cut-off request itself (a bare 400) and closes: never 413.
          assert.notMatch(answer, /^HTTP\/1\.1 413/, answer)
          // The server counts it as a client that went away (499), not as too large.
          // (Which of "body ended early" and "client gone" wins is a race; readJsonBody.test.ts
          // pins that the first is a 400 body_incomplete.)
          const metrics = yield* Effect.promise(async () => {
            for (let tries = 0; tries < 100; tries++) {
              const now = await scrape(server.baseUrl)
              if (total(now) > 0) return now
              await new Promise((resolve) => setTimeout(resolve, 50))
            }
            throw new Error("the cut-off request was never counted")
          })
          assert.strictEqual(count(metrics, "413"), 0, webhookCounts(metrics).join("\n"))
          assert.strictEqual(count(metrics, "499"), 1, webhookCounts(metrics).join("\n"))
          assert.strictEqual(yield* storedUpdates(server, bot.id), 0)
        })
    )
  }
)

// /metrics: the webhook route's request count per status.
const scrape = (baseUrl: string) => fetch(`${baseUrl}/metrics`).then((response) => response.text())
const webhookCounts = (metrics: string) =>
  metrics
    .split("\n")
    .filter(
      (line) =>
        line.startsWith("http_server_request_duration_seconds_count") &&
        line.includes('route="/telegram/webhook/:botId"')
    )
const count = (metrics: string, status: string) =>
  webhookCounts(metrics)
    .filter((line) => line.includes(`status="${status}"`))
    .reduce((sum, line) => sum + Number(line.split(" ").at(-1)), 0)
const total = (metrics: string) =>
  webhookCounts(metrics).reduce((sum, line) => sum + Number(line.split(" ").at(-1)), 0)

layer(serverLayer(withAdmin()), { timeout: 60_000, excludeTestServices: true })(
  "poison at the admin API",
  (it) => {
    it.effect(
      "NUL or a lone surrogate in any text field is 400 invalid_request naming the field; nothing stored",
      () =>
        Effect.gen(function* () {
          const server = yield* TestServer
          const api = yield* loggedIn(server.baseUrl)
          const { bot } = yield* server.addBot("Target")
          const botsBefore = yield* countRows(server, "bots")
          const cases: ReadonlyArray<readonly [string, string, unknown, string]> = [
            ["POST", "/api/bots", { name: "Bad\u0000Name", token: WELL_FORMED_TOKEN }, "body.name:"],
            [
              "POST",
              "/api/bots",
              { name: "Fine", token: WELL_FORMED_TOKEN, model: "gpt\u0000" },
              "body.model:"
            ],
            [
              "POST",
              "/api/bots",
              { name: "Fine", token: WELL_FORMED_TOKEN, systemPrompt: "be \ud800 nice" },
              "body.systemPrompt:"
            ],
            ["PATCH", `/api/bots/${bot.id}`, { startMessage: "hi\u0000" }, "body.startMessage:"],
            ["PATCH", `/api/bots/${bot.id}`, { name: "\udc00" }, "body.name:"],
            [
              "POST",
              "/api/auth/register",
              { email: "a\u0000@b.c", password: "x".repeat(12), registrationToken: "t" },
              "body.email:"
            ]
          ]
          for (const [method, path, json, field] of cases) {
            const message = expectError(yield* api.request(method, path, { json }), 400, "invalid_request")
            assert.include(message, field, `${method} ${path}`)
            assert.include(message, "NUL", `${method} ${path}`)
          }
          // Unauthenticated login too: 400, not 500.
          const login = yield* makeClient(server.baseUrl).login("admin\u0000@example.com", "whatever")
          assert.include(expectError(login, 400, "invalid_request"), "body.email:")
          assert.strictEqual(yield* countRows(server, "bots"), botsBefore)
          const unchanged = expectBody(
            yield* api.get(`/api/bots/${bot.id}`),
            200,
            Schema.Struct({ name: Schema.String, startMessage: Schema.String })
          )
          assert.strictEqual(unchanged.name, "Target")
          assert.strictEqual(unchanged.startMessage, bot.startMessage)
        })
    )

    it.effect("a message with NUL to a chat is 400 and stores nothing", () =>
      Effect.gen(function* () {
        const server = yield* TestServer
        const api = yield* loggedIn(server.baseUrl)
        const { bot } = yield* server.addBot("Chatty")
        yield* postUpdate(server.baseUrl, bot, textUpdate(7101, "hello"))
        yield* eventually(() => server.telegram.sentTo(7101).length > 0)
        yield* settled(server, bot.id)
        const [chat] = yield* listsLoad(api, bot.id)
        const messagesBefore = yield* countRows(server, "messages")
        const response = yield* api.post(`/api/chats/${chat?.id}/messages`, { text: "hi\u0000there" })
        assert.include(expectError(response, 400, "invalid_request"), "body.text:")
        assert.strictEqual(yield* countRows(server, "messages"), messagesBefore)
      })
    )

    it.effect("unknown body fields are 400 naming the field, on create and on update", () =>
      Effect.gen(function* () {
        const server = yield* TestServer
        const api = yield* loggedIn(server.baseUrl)
        const { bot } = yield* server.addBot("Typo")
        const botsBefore = yield* countRows(server, "bots")
        const create = yield* api.post("/api/bots", {
          name: "Typo2",
          token: WELL_FORMED_TOKEN,
          sytemPrompt: "be nice"
        })
        assert.strictEqual(expectError(create, 400, "invalid_request"), 'body: unknown field "sytemPrompt"')
        const update = yield* api.patch(`/api/bots/${bot.id}`, { sytemPrompt: "be nice" })
        assert.strictEqual(expectError(update, 400, "invalid_request"), 'body: unknown field "sytemPrompt"')
        assert.strictEqual(yield* countRows(server, "bots"), botsBefore)
        const after = expectBody(
          yield* api.get(`/api/bots/${bot.id}`),
          200,
          Schema.Struct({ systemPrompt: Schema.String })
        )
        assert.strictEqual(after.systemPrompt, bot.systemPrompt)
      })
    )

    it.effect("a well-formed cursor with an absurd time is 400 invalid_cursor on every list", () =>
      Effect.gen(function* () {
        const server = yield* TestServer
        const api = yield* loggedIn(server.baseUrl)
        const { bot } = yield* server.addBot("Pager")
        yield* postUpdate(server.baseUrl, bot, textUpdate(7201, "hello"))
        yield* settled(server, bot.id)
        const [chat] = yield* listsLoad(api, bot.id)
        const uuid = "6f1c7a38-6b1e-4c55-9a53-3f4d2b6f0a11"
        for (const path of ["/api/chats", `/api/chats/${chat?.id}/messages`, "/api/failures"]) {
          // A failure's position names a failure (message:<uuid>), a chat's or message's a row id.
          const position = path === "/api/failures" ? `message:${uuid}` : uuid
          const cursorAt = (at: number) => Buffer.from(JSON.stringify([at, position])).toString("base64url")
          for (const at of [1e300, -1e300, 8.64e15 + 1, 1.5]) {
            const response = yield* api.get(`${path}?cursor=${cursorAt(at)}`)
            assert.strictEqual(
              expectError(response, 400, "invalid_cursor"),
              "cursor: not a cursor from a previous page",
              `${path} at ${at}`
            )
          }
          // The far ends of the range are still cursors PostgreSQL can page from.
          for (const at of [8.64e15, -62_135_596_800_000]) {
            expectBody(
              yield* api.get(`${path}?cursor=${cursorAt(at)}`),
              200,
              Schema.Struct({ items: Schema.Array(Schema.Unknown) })
            )
          }
        }
      })
    )

    it.effect("/openapi.json agrees with the server: password of 12, no unknown fields", () =>
      Effect.gen(function* () {
        const server = yield* TestServer
        const spec = (yield* Effect.promise(() =>
          fetch(`${server.baseUrl}/openapi.json`).then((r) => r.json())
        )) as {
          paths: Record<
            string,
            Record<string, { requestBody?: { content: Record<string, { schema: unknown }> } }>
          >
          components: { schemas: Record<string, unknown> }
        }
        const bodyOf = (path: string, method: string) => {
          const schema = spec.paths[path]?.[method]?.requestBody?.content["application/json"]?.schema as
            | {
                $ref?: string
                properties?: Record<string, { minLength?: number }>
                additionalProperties?: boolean
              }
            | undefined
          const ref = schema?.$ref?.split("/").at(-1)
          return (ref ? spec.components.schemas[ref] : schema) as {
            properties: Record<string, { minLength?: number; allOf?: ReadonlyArray<{ minLength?: number }> }>
            additionalProperties?: boolean
          }
        }
        const register = bodyOf("/api/auth/register", "post")
        const password = register.properties.password
        const minLength = password?.minLength ?? password?.allOf?.find((part) => part.minLength)?.minLength
        assert.strictEqual(minLength, 12, JSON.stringify(password))
        assert.strictEqual(register.additionalProperties, false)
        assert.strictEqual(bodyOf("/api/bots", "post").additionalProperties, false)
      })
    )
  }
)

layer(serverLayer(withAdmin(), { bodyTimeoutMs: 1_000 }), { timeout: 60_000, excludeTestServices: true })(
  "a stalled body",
  (it) => {
    it.effect("is cut off with 408 after the body timeout, not held for minutes", () =>
      Effect.gen(function* () {
        const server = yield* TestServer
        const { bot } = yield* server.addBot("Stalled")
        const url = new URL(server.baseUrl)
        const { answer, ms } = yield* Effect.promise(
          () =>
            new Promise<{ answer: string; ms: number }>((resolve, reject) => {
              const started = Date.now()
              let answer = ""
              const socket = connect(Number(url.port), url.hostname, () => {
                socket.write(
                  [
                    `POST /telegram/webhook/${bot.id} HTTP/1.1`,
                    `host: ${url.host}`,
                    "content-type: application/json",
                    `x-telegram-bot-api-secret-token: ${bot.webhookSecret}`,
                    "content-length: 100",
                    "",
                    '{"upd'
                  ].join("\r\n")
                )
              })
              socket.on("data", (chunk) => {
                answer += chunk.toString()
              })
              socket.on("close", () => resolve({ answer, ms: Date.now() - started }))
              socket.on("error", reject)
              setTimeout(() => reject(new Error("still open after 10 s")), 10_000)
            })
        )
        assert.match(answer, /^HTTP\/1\.1 408/)
        // 1 s timeout, checked every second: closed within about 2 s.
        assert.isBelow(ms, 3_000)
        assert.strictEqual(yield* storedUpdates(server, bot.id), 0)
        // The server is fine: the next request is served.
        const health = yield* Effect.promise(() => fetch(`${server.baseUrl}/health`))
        assert.strictEqual(health.status, 200)
      })
    )
  }
)

const FailedUpdatePage = page(FailedUpdateView)

layer(serverLayer(withAdmin({ publicUrl: Option.none() })), { timeout: 60_000, excludeTestServices: true })(
  "poison by long polling",
  (it) => {
    it.effect("made safe and answered, or parked at once as invalid and listed; the chat goes on", () =>
      Effect.gen(function* () {
        const server = yield* TestServer
        const api = yield* loggedIn(server.baseUrl)
        const { bot, token } = yield* server.addBot("PolledPoison")
        yield* eventually(() => server.telegram.webhooks.some((event) => event.type === "deleted"), 10_000)
        const chatId = 7301
        const invalidBefore = yield* scrapeCounter(server.baseUrl, 'pipeline_failures_total{class="invalid"}')
        server.telegram.pushUpdate(token, textUpdate(chatId, "nul \u0000 here", 61))
        server.telegram.pushUpdate(
          token,
          withMessage(textUpdate(chatId, "fraction", 62), { message_id: 2.5 })
        )
        server.telegram.pushUpdate(
          token,
          withMessage(textUpdate(chatId, "huge", 63), { chat: { id: 2 ** 53 + 2, type: "private" } })
        )
        server.telegram.pushUpdate(token, { ...textUpdate(chatId, "deep", 64), extra: Poison.nested(40) })
        server.telegram.pushUpdate(token, textUpdate(chatId, "normal", 65))
        yield* eventually(
          () => server.telegram.sentTo(chatId).some((sent) => sent.text === "reply to: normal"),
          10_000
        )
        yield* settled(server, bot.id)
        assert.deepStrictEqual(
          server.telegram.sentTo(chatId).map((sent) => sent.text),
          ["reply to: nul \uFFFD here", "reply to: deep", "reply to: normal"]
        )
        // Parked on the first attempt, with the reason, counted, and listed for admins.
        const rows = yield* server.sql<{
          update_id: string
          status: string
          attempts: number
          last_error: string
        }>`
          SELECT update_id, status, attempts, last_error FROM telegram_updates
          WHERE bot_id = ${bot.id} AND status = 'failed' ORDER BY update_id`.pipe(Effect.orDie)
        assert.deepStrictEqual(
          rows.map((row) => [Number(row.update_id), row.attempts, row.last_error]),
          [
            [62, 1, `invalid update: message.message_id: expected an integer from 1 to ${MAX_MESSAGE_ID}`],
            [
              63,
              1,
              "invalid update: message.chat.id: expected an integer from -4503599627370496 to 4503599627370496"
            ]
          ]
        )
        const invalidAfter = yield* scrapeCounter(server.baseUrl, 'pipeline_failures_total{class="invalid"}')
        assert.strictEqual(invalidAfter - invalidBefore, 2)
        const first = expectBody(
          yield* api.get(`/api/failures/updates?botId=${bot.id}&limit=1`),
          200,
          FailedUpdatePage
        )
        assert.strictEqual(first.items[0]?.updateId, 63)
        assert.strictEqual(
          first.items[0]?.error,
          "invalid update: message.chat.id: expected an integer from -4503599627370496 to 4503599627370496"
        )
        assert.isNotNull(first.nextCursor)
        const second = expectBody(
          yield* api.get(`/api/failures/updates?botId=${bot.id}&limit=1&cursor=${first.nextCursor}`),
          200,
          FailedUpdatePage
        )
        assert.deepStrictEqual(
          second.items.map((item) => [item.updateId, item.attempts]),
          [[62, 1]]
        )
        assert.isNull(second.nextCursor)
        const badCursor = yield* api.get("/api/failures/updates?cursor=WzEuNV0")
        expectError(badCursor, 400, "invalid_cursor")
        yield* listsLoad(api, bot.id)
      })
    )
  }
)

const scrapeCounter = (baseUrl: string, series: string) =>
  Effect.promise(async () => {
    const line = (await scrape(baseUrl)).split("\n").find((text) => text.startsWith(series))
    return line === undefined ? 0 : Number(line.split(" ").at(-1))
  })
