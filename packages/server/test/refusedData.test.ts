/**
 * Admission and the database agree on what they take. A user id of 0 is no
 * Telegram user: the webhook refuses it with 400 and stores nothing (it used
 * to pass, then fail in PostgreSQL and be retried as if the database were
 * down). And whatever the database itself refuses (SQLSTATE class 22, a data
 * exception, or 23, a constraint) is parked on the first attempt with its
 * SQLSTATE, never retried, while the chat goes on.
 */
import type { Bot } from "@botfleet/domain"
import { assert, layer } from "@effect/vitest"
import { Effect } from "effect"
import { withAdmin } from "./support/apiClient.ts"
import {
  eventually,
  eventuallyEffect,
  postUpdate,
  layer as serverLayer,
  settled,
  storedUpdates,
  TestServer,
  textUpdate
} from "./support/inProcessServer.ts"

const countWhere = (server: TestServer["Service"], bot: Bot) =>
  Effect.gen(function* () {
    const [row] = yield* server.sql<{ messages: number; zero_users: number }>`
      SELECT (SELECT count(*) FROM messages WHERE bot_id = ${bot.id})::int AS messages,
             (SELECT count(*) FROM tg_users WHERE telegram_id = 0)::int AS zero_users`.pipe(Effect.orDie)
    return row!
  })

layer(serverLayer(withAdmin()), { timeout: 60_000, excludeTestServices: true })("refused data", (it) => {
  it.effect("a user id of 0 is 400 naming the field; nothing is stored; the chat goes on", () =>
    Effect.gen(function* () {
      const server = yield* TestServer
      const { bot } = yield* server.addBot("ZeroUser")
      const update = textUpdate(7501, "from nobody")
      const response = yield* postUpdate(server.baseUrl, bot, {
        ...update,
        message: { ...update.message, from: { ...update.message.from, id: 0 } }
      })
      assert.strictEqual(response.status, 400)
      assert.deepStrictEqual(response.body, {
        error: {
          code: "invalid_update",
          message: "message.from.id: expected a Telegram user id (a whole number from 1)"
        }
      })
      assert.strictEqual(yield* storedUpdates(server, bot.id), 0)
      assert.deepStrictEqual(yield* countWhere(server, bot), { messages: 0, zero_users: 0 })
      // The same chat's next message is answered as usual.
      const next = yield* postUpdate(server.baseUrl, bot, textUpdate(7501, "from Ann"))
      assert.strictEqual(next.status, 200)
      yield* eventually(() => server.telegram.sentTo(7501).some((sent) => sent.text === "reply to: from Ann"))
      yield* settled(server, bot.id)
      assert.deepStrictEqual(yield* countWhere(server, bot), { messages: 2, zero_users: 0 })
    })
  )

  it.effect(
    "a write the database refuses is parked on the first attempt with its SQLSTATE; the chat goes on",
    () =>
      Effect.gen(function* () {
        const server = yield* TestServer
        const { bot } = yield* server.addBot("Refused")
        const chatId = 7502
        const base = textUpdate(chatId, "")
        // A duration Telegram never sends, but the decoder does not bound: media_seconds is numeric(10, 3).
        const { text: _, ...message } = base.message
        const response = yield* postUpdate(server.baseUrl, bot, {
          ...base,
          message: { ...message, voice: { file_id: "voice-1", duration: 1e8 } }
        })
        assert.strictEqual(response.status, 200)
        const failed = yield* eventuallyEffect(
          Effect.map(
            server.sql<{ status: string; attempts: number; last_error: string }>`
            SELECT status, attempts, last_error FROM telegram_updates
            WHERE bot_id = ${bot.id} AND update_id = ${base.update_id}`.pipe(Effect.orDie),
            (rows) => (rows[0]?.status === "failed" ? rows[0] : undefined)
          ),
          10_000
        )
        // Terminal at once: one attempt, and the reason names the SQLSTATE (22003: numeric field overflow).
        assert.strictEqual(failed.attempts, 1)
        assert.match(failed.last_error, /^refused by the database \(SQLSTATE 22003\): /)
        // Nothing half-stored: no message for the refused update.
        assert.deepStrictEqual(yield* countWhere(server, bot), { messages: 0, zero_users: 0 })
        const next = yield* postUpdate(server.baseUrl, bot, textUpdate(chatId, "still here"))
        assert.strictEqual(next.status, 200)
        yield* eventually(() =>
          server.telegram.sentTo(chatId).some((sent) => sent.text === "reply to: still here")
        )
        yield* settled(server, bot.id)
        assert.deepStrictEqual(yield* countWhere(server, bot), { messages: 2, zero_users: 0 })
      })
  )
})
