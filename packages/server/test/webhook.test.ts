/**
 * The webhook as Telegram and an attacker meet it: every bad input gets a
 * clear status and stores nothing; a good one is stored once and answered.
 */
import { assert, layer } from "@effect/vitest"
import { Effect } from "effect"
import {
  eventually,
  postUpdate,
  layer as serverLayer,
  settled,
  storedUpdates,
  TestServer,
  textUpdate
} from "./support/inProcessServer.ts"

layer(serverLayer(), { timeout: 60_000, excludeTestServices: true })("webhook", (it) => {
  it.effect("enabling a bot registers our webhook URL and its secret with Telegram", () =>
    Effect.gen(function* () {
      const server = yield* TestServer
      const { bot, token } = yield* server.addBot("Hooked")
      const webhook = yield* eventually(() => server.telegram.webhookOf(token) ?? undefined)
      assert.strictEqual(webhook.url, `${server.baseUrl}/telegram/webhook/${bot.id}`)
      assert.strictEqual(webhook.secretToken, bot.webhookSecret)
      assert.notInclude(webhook.url, token)
    })
  )

  it.effect("a good update is acknowledged, stored once and answered once", () =>
    Effect.gen(function* () {
      const server = yield* TestServer
      const { bot } = yield* server.addBot("Answering")
      const update = textUpdate(5001, "hello there")
      const first = yield* postUpdate(server.baseUrl, bot, update)
      assert.strictEqual(first.status, 200)
      assert.deepStrictEqual(first.body, { ok: true })
      const again = yield* postUpdate(server.baseUrl, bot, update)
      assert.strictEqual(again.status, 200)
      assert.deepStrictEqual(again.body, { ok: true, duplicate: true })
      const replies = yield* eventually(() => {
        const sent = server.telegram.sentTo(5001)
        return sent.length > 0 ? sent : undefined
      })
      assert.strictEqual(replies[0]!.text, "reply to: hello there")
      // Give a wrongly repeated delivery time to show up before counting.
      yield* Effect.promise(() => new Promise((resolve) => setTimeout(resolve, 300)))
      assert.strictEqual(server.telegram.sentTo(5001).length, 1)
      assert.strictEqual(yield* storedUpdates(server, bot.id), 1)
    })
  )

  it.effect("a wrong or missing secret is 401 and stores nothing", () =>
    Effect.gen(function* () {
      const server = yield* TestServer
      const { bot } = yield* server.addBot("Guarded")
      const wrong = yield* postUpdate(server.baseUrl, bot, textUpdate(5002, "hi"), {
        secret: "not-the-secret"
      })
      assert.strictEqual(wrong.status, 401)
      assert.deepStrictEqual(wrong.body, {
        error: { code: "unauthorized", message: "missing or wrong X-Telegram-Bot-Api-Secret-Token" }
      })
      const missing = yield* postUpdate(server.baseUrl, bot, textUpdate(5002, "hi"), { secret: null })
      assert.strictEqual(missing.status, 401)
      assert.strictEqual(yield* storedUpdates(server, bot.id), 0)
    })
  )

  it.effect("malformed JSON is 400, a body without update_id is 400, nothing stored", () =>
    Effect.gen(function* () {
      const server = yield* TestServer
      const { bot } = yield* server.addBot("Strict")
      const malformed = yield* postUpdate(server.baseUrl, bot, null, {
        rawBody: '{"update_id": 1, "message": '
      })
      assert.strictEqual(malformed.status, 400)
      assert.deepStrictEqual(malformed.body, {
        error: { code: "malformed_json", message: "the body is not valid JSON" }
      })
      const noId = yield* postUpdate(server.baseUrl, bot, { message: { text: "hi" } })
      assert.strictEqual(noId.status, 400)
      assert.strictEqual((noId.body.error as { code: string }).code, "invalid_update")
      assert.strictEqual(yield* storedUpdates(server, bot.id), 0)
    })
  )

  it.effect("an unknown bot is 404", () =>
    Effect.gen(function* () {
      const server = yield* TestServer
      const { bot } = yield* server.addBot("Known")
      const unknown = { ...bot, id: "6f1c7a38-6b1e-4c55-9a53-3f4d2b6f0a11" } as typeof bot
      const response = yield* postUpdate(server.baseUrl, unknown, textUpdate(5003, "hi"))
      assert.strictEqual(response.status, 404)
      assert.strictEqual((response.body.error as { code: string }).code, "bot_not_found")
      const notAnId = yield* Effect.promise(() =>
        fetch(`${server.baseUrl}/telegram/webhook/not-a-uuid`, { method: "POST", body: "{}" })
      )
      assert.strictEqual(notAnId.status, 404)
    })
  )

  it.effect("a body over 1 MB is 413 and stores nothing", () =>
    Effect.gen(function* () {
      const server = yield* TestServer
      const { bot } = yield* server.addBot("Small")
      const huge = textUpdate(5004, "x".repeat(1024 * 1024 + 10))
      const response = yield* postUpdate(server.baseUrl, bot, huge)
      assert.strictEqual(response.status, 413)
      assert.strictEqual((response.body.error as { code: string }).code, "payload_too_large")
      assert.strictEqual(yield* storedUpdates(server, bot.id), 0)
    })
  )

  it.effect("an update kind we do not handle is acknowledged and ignored", () =>
    Effect.gen(function* () {
      const server = yield* TestServer
      const { bot } = yield* server.addBot("Picky")
      const sentBefore = server.telegram.sent.length
      const response = yield* postUpdate(server.baseUrl, bot, {
        update_id: 990001,
        poll: { id: "p1", question: "?" }
      })
      assert.strictEqual(response.status, 200)
      yield* Effect.promise(() => new Promise((resolve) => setTimeout(resolve, 500)))
      const [row] = yield* server.sql<{ status: string }>`
        SELECT status FROM telegram_updates WHERE bot_id = ${bot.id} AND update_id = 990001`.pipe(
        Effect.orDie
      )
      assert.strictEqual(row?.status, "done")
      assert.strictEqual(server.telegram.sent.length, sentBefore)
    })
  )

  it.effect("a disabled bot's webhook is acknowledged but nothing is stored", () =>
    Effect.gen(function* () {
      const server = yield* TestServer
      const { bot } = yield* server.addBot("Sleeping")
      yield* server.bots.disable(bot.id).pipe(Effect.orDie)
      const response = yield* postUpdate(server.baseUrl, bot, textUpdate(5005, "anyone?"))
      assert.strictEqual(response.status, 200)
      assert.strictEqual(yield* storedUpdates(server, bot.id), 0)
    })
  )

  it.effect(
    "a bot disabled or deleted right after an update (while the webhook reuses it) gets nothing stored",
    () =>
      Effect.gen(function* () {
        const server = yield* TestServer
        const { bot, token } = yield* server.addBot("Brief")
        // The webhook keeps a bot until the pipeline brings a newer settings version: once the
        // bot's own writes (registration) are done and an update has been worked on, it is kept.
        yield* eventually(() => server.telegram.webhookOf(token) ?? undefined)
        for (const text of ["first", "again"]) {
          assert.strictEqual((yield* postUpdate(server.baseUrl, bot, textUpdate(5006, text))).status, 200)
          yield* settled(server, bot.id)
        }
        // Behind the pipeline's back (nothing is leased after it), so only the database knows at once.
        yield* server.sql`UPDATE bots SET active = false WHERE id = ${bot.id}`.pipe(Effect.orDie)
        const afterDisable = yield* postUpdate(server.baseUrl, bot, textUpdate(5006, "second"))
        assert.strictEqual(afterDisable.status, 200)
        // Refused by the insert, which checks the bot itself, not by a fresh read ("ignored").
        assert.deepStrictEqual(afterDisable.body, { ok: true, duplicate: true })
        assert.strictEqual(yield* storedUpdates(server, bot.id), 2)
        yield* server.sql`UPDATE bots SET active = true WHERE id = ${bot.id}`.pipe(Effect.orDie)
        yield* server.sql`DELETE FROM bots WHERE id = ${bot.id}`.pipe(Effect.orDie)
        const afterDelete = yield* postUpdate(server.baseUrl, bot, textUpdate(5006, "third"))
        assert.strictEqual(afterDelete.status, 200)
        assert.deepStrictEqual(afterDelete.body, { ok: true, duplicate: true })
        assert.strictEqual(yield* storedUpdates(server, bot.id), 0)
      })
  )
})
