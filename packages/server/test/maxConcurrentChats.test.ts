/**
 * A bot's `maxConcurrentChats` on the real server and PostgreSQL: set by a
 * PATCH, it holds the chats the process answers at once (measured at the
 * model: the fake OpenAI's most requests in flight), and cleared, the next
 * burst is answered with the fair share again.
 */
import { assert, layer } from "@effect/vitest"
import { Effect } from "effect"
import { BotView } from "../src/api/schemas.ts"
import { expectBody, expectError, loggedIn, withAdmin } from "./support/apiClient.ts"
import {
  postUpdate,
  layer as serverLayer,
  settled,
  TestServer,
  textUpdate
} from "./support/inProcessServer.ts"

const CHATS = 10
const CAP = 3
const MODEL_MS = 400

layer(serverLayer(withAdmin()), { timeout: 60_000, excludeTestServices: true })(
  "maxConcurrentChats end to end",
  (it) => {
    it.effect("capped at 3, ten chats at once reach the model at most three at a time; cleared, more", () =>
      Effect.gen(function* () {
        const server = yield* TestServer
        const api = yield* loggedIn(server.baseUrl)
        const { bot } = yield* server.addBot("Capped")
        assert.strictEqual(bot.maxConcurrentChats, null)
        expectError(
          yield* api.patch(`/api/bots/${bot.id}`, { maxConcurrentChats: 0 }),
          400,
          "invalid_request"
        )
        expectError(
          yield* api.patch(`/api/bots/${bot.id}`, { maxConcurrentChats: 1001 }),
          400,
          "invalid_request"
        )
        const capped = expectBody(
          yield* api.patch(`/api/bots/${bot.id}`, { maxConcurrentChats: CAP }),
          200,
          BotView
        )
        assert.strictEqual(capped.maxConcurrentChats, CAP)
        yield* server.openai.setLatency(MODEL_MS)

        const burst = (base: number) =>
          Effect.gen(function* () {
            const started = Date.now()
            yield* Effect.forEach(
              Array.from({ length: CHATS }, (_, c) => c),
              (c) =>
                postUpdate(server.baseUrl, bot, textUpdate(base + c, `hello ${c}`)).pipe(
                  Effect.map((response) => assert.strictEqual(response.status, 200))
                ),
              { concurrency: CHATS }
            )
            yield* settled(server, bot.id)
            for (let c = 0; c < CHATS; c++) {
              assert.deepStrictEqual(
                server.telegram.sentTo(base + c, bot.telegramBotId).map((message) => message.text),
                [`reply to: hello ${c}`]
              )
            }
            return Date.now() - started
          })

        const cappedMs = yield* burst(961_000)
        assert.strictEqual(
          yield* server.openai.peakInFlight,
          CAP,
          "never more than the cap, and the cap used"
        )
        assert.isAtLeast(cappedMs, Math.ceil(CHATS / CAP) * MODEL_MS, "three at a time")

        // Cleared: the fair share (half the slots for a bot alone) lets the whole burst in.
        expectBody(yield* api.patch(`/api/bots/${bot.id}`, { maxConcurrentChats: null }), 200, BotView)
        yield* burst(962_000)
        assert.isAbove(yield* server.openai.peakInFlight, CAP)
      })
    )
  }
)
