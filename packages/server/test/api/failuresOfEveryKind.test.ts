/**
 * `GET /api/failures` lists every kind of failure (messages, inbox updates,
 * outbox effects) and `POST /api/failures/:id/retry` retries any of them: a
 * setWebhook that Telegram refused until the effect gave up succeeds once
 * Telegram accepts; an update given up on is answered after a retry. Bad
 * references are 400 or 404 and change nothing.
 */
import { FakeTelegram } from "@botfleet/testing"
import { assert, layer } from "@effect/vitest"
import { Effect, Option } from "effect"
import { FailureRetried, FailureView, page } from "../../src/api/schemas.ts"
import { type ApiClient, expectBody, expectError, loggedIn, withAdmin } from "../support/apiClient.ts"
import {
  eventually,
  eventuallyEffect,
  layer as serverLayer,
  settled,
  TestServer,
  textUpdate
} from "../support/inProcessServer.ts"

const FailurePage = page(FailureView)

const failuresOf = (api: ApiClient, query: string) =>
  Effect.map(api.get(`/api/failures?${query}`), (response) => expectBody(response, 200, FailurePage))

const publicUrl = new URL("https://bots.example.com")

layer(serverLayer(withAdmin({ publicUrl: Option.some(publicUrl) })), {
  timeout: 90_000,
  excludeTestServices: true
})("failures of every kind", (it) => {
  it.effect("a setWebhook refused until the effect gave up is listed; a retry sets the webhook", () =>
    Effect.gen(function* () {
      const server = yield* TestServer
      const api = yield* loggedIn(server.baseUrl)
      server.telegram.failNext("setWebhook", FakeTelegram.Fault.serverError(502), 1000)
      const { bot, token } = yield* server.addBot("Hooked")
      // Backoff grows to minutes; pull each retry forward so the effect runs out of attempts now.
      yield* eventuallyEffect(
        Effect.gen(function* () {
          yield* server.sql`
            UPDATE domain_effects SET next_attempt_at = now()
            WHERE status = 'pending' AND kind = 'TelegramSetWebhook' AND payload ->> 'botId' = ${bot.id}`
          const rows = yield* server.sql<{ status: string }>`
            SELECT status FROM domain_effects WHERE kind = 'TelegramSetWebhook' AND payload ->> 'botId' = ${bot.id}`
          return rows[0]?.status === "failed"
        }),
        60_000
      )
      assert.isNull(server.telegram.webhookOf(token))

      const listed = yield* failuresOf(api, `botId=${bot.id}&kind=effect`)
      assert.strictEqual(listed.items.length, 1)
      const failure = listed.items[0]!
      assert.match(failure.id, /^effect:\d+$/)
      assert.strictEqual(failure.kind, "effect")
      assert.strictEqual(failure.botId, bot.id)
      assert.strictEqual(failure.summary, "TelegramSetWebhook")
      assert.strictEqual(failure.attempts, 10)
      assert.include(failure.error ?? "", "502")
      assert.isNull(failure.message)
      assert.isTrue(
        (yield* failuresOf(api, "")).items.some((item) => item.id === failure.id),
        "listed without filters too"
      )

      server.telegram.reset()
      const retried = expectBody(yield* api.post(`/api/failures/${failure.id}/retry`), 202, FailureRetried)
      assert.deepStrictEqual(retried, { id: failure.id, kind: "effect", status: "queued" })
      yield* eventually(() => server.telegram.webhookOf(token)?.url.endsWith(`/telegram/webhook/${bot.id}`))
      yield* eventuallyEffect(
        Effect.map(failuresOf(api, `botId=${bot.id}`), (page) => page.items.length === 0)
      )
      expectError(yield* api.post(`/api/failures/${failure.id}/retry`), 409, "not_retryable")
    })
  )

  it.effect("an update given up on is listed; a retry puts it back in line and the user is answered", () =>
    Effect.gen(function* () {
      const server = yield* TestServer
      const api = yield* loggedIn(server.baseUrl)
      const { bot } = yield* server.addBot("Parked")
      const update = textUpdate(5501, "are you there?")
      // An update the pipeline gave up on after its retries (as the ChatWorker leaves it).
      yield* server.sql`
        INSERT INTO telegram_updates (bot_id, update_id, chat_key, payload, status, attempts, last_error, processed_at)
        VALUES (${bot.id}, ${update.update_id}, ${`${bot.id}:5501`}, ${JSON.stringify(update)}::jsonb,
                'failed', 6, 'LLM unavailable: 503', now())`
      const listed = yield* failuresOf(api, `botId=${bot.id}`)
      assert.strictEqual(listed.items.length, 1)
      const failure = listed.items[0]!
      assert.strictEqual(failure.kind, "update")
      assert.strictEqual(failure.attempts, 6)
      assert.strictEqual(failure.error, "LLM unavailable: 503")
      assert.strictEqual(failure.summary, `update ${update.update_id} of chat ${bot.id}:5501`)
      assert.deepStrictEqual(
        (yield* failuresOf(api, `botId=${bot.id}&kind=effect`)).items,
        [],
        "the kind filter leaves it out"
      )

      expectBody(yield* api.post(`/api/failures/${failure.id}/retry`), 202, FailureRetried)
      yield* eventually(() =>
        server.telegram.sentTo(5501).some((sent) => sent.text === "reply to: are you there?")
      )
      yield* settled(server, bot.id)
      const [row] = yield* server.sql<{ status: string }>`
        SELECT status FROM telegram_updates WHERE bot_id = ${bot.id} AND update_id = ${update.update_id}`
      assert.strictEqual(row?.status, "done")
      assert.deepStrictEqual((yield* failuresOf(api, `botId=${bot.id}`)).items, [])
    })
  )

  it.effect("a malformed reference is 400, an unknown one 404, a forged cursor 400; nothing changes", () =>
    Effect.gen(function* () {
      const server = yield* TestServer
      const api = yield* loggedIn(server.baseUrl)
      const { bot } = yield* server.addBot("Untouched")
      yield* server.sql`
        INSERT INTO telegram_updates (bot_id, update_id, chat_key, payload, status, attempts, last_error, processed_at)
        VALUES (${bot.id}, 1, ${`${bot.id}:1`}, '{"update_id":1}'::jsonb, 'failed', 1, 'unreadable', now())`
      const before = yield* failuresOf(api, `botId=${bot.id}`)
      assert.strictEqual(before.items.length, 1)

      for (const bad of ["nonsense", "update:abc", "update:0", "effect:-1", "message:not-a-uuid"]) {
        const message = expectError(yield* api.post(`/api/failures/${bad}/retry`), 400, "invalid_request")
        assert.include(message, "id", `${bad}: the message names the field`)
      }
      expectError(yield* api.post("/api/failures/update:987654321/retry"), 404, "failure_not_found")
      expectError(yield* api.post("/api/failures/effect:987654321/retry"), 404, "failure_not_found")
      expectError(
        yield* api.post("/api/failures/message:6f1c7a38-6b1e-4c55-9a53-3f4d2b6f0a11/retry"),
        404,
        "failure_not_found"
      )
      expectError(yield* api.get("/api/failures?cursor=forged"), 400, "invalid_cursor")
      // Well-formed base64 JSON of the right shape, but with a reference no failure can have.
      for (const position of [
        [1, "not-a-uuid"],
        [1, "message:not-a-uuid"],
        [1, "update:0"],
        [1.5, "effect:7"]
      ]) {
        const forged = Buffer.from(JSON.stringify(position)).toString("base64url")
        expectError(yield* api.get(`/api/failures?cursor=${forged}`), 400, "invalid_cursor")
      }
      expectError(yield* api.get("/api/failures?kind=other"), 400, "invalid_request")

      assert.deepStrictEqual(
        yield* failuresOf(api, `botId=${bot.id}`),
        before,
        "the failure is still there, as it was"
      )
    })
  )

  it.effect("pages over all kinds newest first, with a cursor", () =>
    Effect.gen(function* () {
      const server = yield* TestServer
      const api = yield* loggedIn(server.baseUrl)
      const { bot } = yield* server.addBot("Paged")
      yield* server.sql`
        INSERT INTO telegram_updates (bot_id, update_id, chat_key, payload, status, attempts, last_error, processed_at)
        SELECT ${bot.id}, n, ${bot.id} || ':' || n, '{}'::jsonb, 'failed', 1, 'x', now() - n * interval '1 minute'
        FROM generate_series(1, 3) n`
      yield* server.sql`
        INSERT INTO domain_effects (kind, payload, status, attempts, last_error, created_at)
        VALUES ('NotifyAdmins', ${JSON.stringify({ _tag: "NotifyAdmins", botId: bot.id, chatId: null, message: "m" })}::jsonb,
                'failed', 10, 'y', now() - interval '150 seconds')`
      const seen: Array<string> = []
      let cursor: string | null = ""
      while (cursor !== null) {
        const next: typeof FailurePage.Type = yield* failuresOf(
          api,
          `botId=${bot.id}&limit=2&cursor=${cursor}`
        )
        seen.push(...next.items.map((item) => `${item.kind}:${item.summary}`))
        cursor = next.nextCursor
      }
      assert.deepStrictEqual(seen, [
        `update:update 1 of chat ${bot.id}:1`,
        `update:update 2 of chat ${bot.id}:2`,
        "effect:NotifyAdmins",
        `update:update 3 of chat ${bot.id}:3`
      ])
    })
  )
})
