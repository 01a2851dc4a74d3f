/**
 * Long polling, used when there is no PUBLIC_URL: updates fetched with
 * getUpdates are answered, the offset is stored so a restart neither loses nor
 * repeats them, errors back off, and a disabled bot stops polling.
 */
import { FakeTelegram } from "@botfleet/testing"
import { assert, layer } from "@effect/vitest"
import { Effect, Option, Redacted } from "effect"
import { eventually, layer as serverLayer, TestServer, textUpdate } from "./support/inProcessServer.ts"

const sleep = (ms: number) => Effect.promise(() => new Promise((resolve) => setTimeout(resolve, ms)))

layer(
  serverLayer(() => ({ publicUrl: Option.none() })),
  { timeout: 60_000, excludeTestServices: true }
)("polling", (it) => {
  it.effect(
    "answers polled updates, stores the offset, survives errors and stops when disabled",
    () =>
      Effect.gen(function* () {
        const server = yield* TestServer
        const { bot, token } = yield* server.addBot("Polled")
        // Enabling without a public URL removes any webhook (Telegram refuses getUpdates while one is set).
        yield* eventually(() => server.telegram.webhooks.some((event) => event.type === "deleted"), 10_000)

        server.telegram.pushUpdate(token, textUpdate(6001, "first", 41))
        server.telegram.pushUpdate(token, textUpdate(6001, "second", 42))
        yield* eventually(() => server.telegram.sentTo(6001).length >= 2, 15_000)
        assert.deepStrictEqual(
          server.telegram.sentTo(6001).map((message) => message.text),
          ["reply to: first", "reply to: second"]
        )
        const offset = yield* server.sql<{ polling_offset: string }>`
          SELECT polling_offset FROM bots WHERE id = ${bot.id}`.pipe(Effect.orDie)
        assert.strictEqual(
          Number(offset[0]!.polling_offset),
          43,
          "the next getUpdates starts after the last stored update"
        )

        // Two failed polls: the loop backs off and carries on.
        server.telegram.failNext("getUpdates", FakeTelegram.Fault.serverError(502), 2)
        server.telegram.pushUpdate(token, textUpdate(6001, "third", 43))
        yield* eventually(() => server.telegram.sentTo(6001).length >= 3, 20_000)
        assert.strictEqual(server.telegram.sentTo(6001)[2]!.text, "reply to: third")

        yield* server.bots.disable(bot.id).pipe(Effect.orDie)
        yield* sleep(6_000)
        const callsAfterStop = server.telegram.calls("getUpdates")
        server.telegram.pushUpdate(token, textUpdate(6001, "nobody listens", 44))
        yield* sleep(1_500)
        assert.strictEqual(
          server.telegram.calls("getUpdates"),
          callsAfterStop,
          "no polling for a disabled bot"
        )
        assert.strictEqual(server.telegram.sentTo(6001).length, 3)
      }),
    60_000
  )

  it.effect(
    "polls on with a token an admin replaced, and does not stop the bot over the old one",
    () =>
      Effect.gen(function* () {
        const server = yield* TestServer
        const { bot, token } = yield* server.addBot("Rotated")
        server.telegram.pushUpdate(token, textUpdate(6101, "before", 51))
        yield* eventually(() => server.telegram.sentTo(6101).length >= 1, 15_000)

        // BotFather's "revoke": a new token for the same bot, the old one refused from now on.
        const fresh = `${bot.telegramBotId}:AA${"r".repeat(33)}`
        server.telegram.registerBot(fresh, {
          id: bot.telegramBotId,
          username: bot.username,
          firstName: "Rotated"
        })
        yield* server.bots.update(bot.id, { token: Redacted.make(fresh) }).pipe(Effect.orDie)
        server.telegram.revokeToken(token)
        server.telegram.pushUpdate(fresh, textUpdate(6101, "after", 52))
        yield* eventually(() => server.telegram.sentTo(6101).length >= 2, 20_000)
        assert.deepStrictEqual(
          server.telegram.sentTo(6101).map((message) => message.text),
          ["reply to: before", "reply to: after"]
        )
        const stored = yield* server.sql<{ active: boolean; last_error: string | null }>`
          SELECT active, last_error FROM bots WHERE id = ${bot.id}`.pipe(Effect.orDie)
        assert.deepStrictEqual(stored[0], { active: true, last_error: null }, "the bot still runs")
      }),
    60_000
  )

  it.effect(
    "a 409 and a 429 back off (the 429 for its retry_after) and polling carries on; a 401 stops the bot",
    () =>
      Effect.gen(function* () {
        const server = yield* TestServer
        const { bot, token } = yield* server.addBot("Refusals")
        yield* eventually(() => server.telegram.heldPolls() >= 1, 10_000)

        // The held poll answers with "a"; the next two polls are refused: the 409 backs off
        // 1 s, the 429 the 5 s Telegram asks (a plain backoff would be 2 s), so "b" can be
        // polled no sooner than 6 s after the faults were queued.
        server.telegram.failNext(
          "getUpdates",
          FakeTelegram.Fault.apiError(409, "Conflict: terminated by other getUpdates request")
        )
        server.telegram.failNext("getUpdates", FakeTelegram.Fault.rateLimited(5))
        const queuedAt = Date.now()
        server.telegram.pushUpdate(token, textUpdate(6201, "a", 61))
        yield* eventually(() => server.telegram.sentTo(6201).length >= 1, 15_000)
        server.telegram.pushUpdate(token, textUpdate(6201, "b", 62))
        yield* eventually(() => server.telegram.sentTo(6201).length >= 2, 20_000)
        assert.isAtLeast(Date.now() - queuedAt, 5_500, "the 429's retry_after was honoured")
        assert.deepStrictEqual(
          server.telegram.sentTo(6201).map((message) => message.text),
          ["reply to: a", "reply to: b"]
        )

        // Telegram refuses the token: the bot is stopped and polls no more.
        server.telegram.failNext("getUpdates", FakeTelegram.Fault.apiError(401, "Unauthorized"))
        server.telegram.pushUpdate(token, textUpdate(6201, "c", 63))
        yield* eventually(() => server.telegram.sentTo(6201).length >= 3, 15_000)
        const stopped = () =>
          server.sql<{ active: boolean; last_error: string | null }>`
            SELECT active, last_error FROM bots WHERE id = ${bot.id}`.pipe(Effect.orDie)
        for (let i = 0; i < 100 && (yield* stopped())[0]!.active; i++) yield* sleep(100)
        const row = (yield* stopped())[0]!
        assert.isFalse(row.active, "a refused token stops the bot")
        assert.include(row.last_error ?? "", "Unauthorized")
        const calls = server.telegram.calls("getUpdates")
        yield* sleep(2_000)
        assert.strictEqual(server.telegram.calls("getUpdates"), calls, "no polling after a 401")
      }),
    60_000
  )
})
