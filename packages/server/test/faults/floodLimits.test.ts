/**
 * Telegram's flood limits, kept on our side: the fake Telegram answers 429
 * past about 30 messages a second per bot and about one a second per chat
 * (with a burst), and the server's sends never hit those 429s; a busy chat is
 * slowed instead, its replies still in order. The per-bot budget is tested
 * on virtual time in application/test/sendBudget.test.ts: on this machine the
 * server cannot be made to send 30 a second reliably enough to fail without it.
 */
import { assert, layer } from "@effect/vitest"
import { Effect } from "effect"
import {
  eventually,
  postUpdate,
  layer as serverLayer,
  TestServer,
  textUpdate
} from "../support/inProcessServer.ts"

/** Telegram's published limits: 30 messages a second per bot, about one a second per chat with a short burst. */
const limits = { perBot: { perSecond: 30, burst: 30 }, perChat: { perSecond: 1, burst: 5 } }

layer(serverLayer(), { timeout: 60_000, excludeTestServices: true })("flood limits", (it) => {
  it.effect("the fake Telegram answers 429 with retry_after past a chat's limit", () =>
    Effect.gen(function* () {
      const server = yield* TestServer
      const { token } = yield* server.addBot("Control")
      server.telegram.setFloodLimits(limits)
      const answers = yield* Effect.promise(() =>
        Promise.all(
          Array.from({ length: limits.perChat.burst + 3 }, async (_, i) => {
            const response = await fetch(new URL(`/bot${token}/sendMessage`, server.telegram.apiRoot), {
              method: "POST",
              headers: { "content-type": "application/json" },
              body: JSON.stringify({ chat_id: 4242, text: `direct ${i}` })
            })
            return (await response.json()) as { ok: boolean; parameters?: { retry_after?: number } }
          })
        )
      )
      const refused = answers.filter((answer) => !answer.ok)
      assert.strictEqual(refused.length, 3)
      assert.isTrue(refused.every((answer) => (answer.parameters?.retry_after ?? 0) >= 1))
      server.telegram.setFloodLimits(null)
    })
  )

  it.effect("a busy chat is slowed to the limit, not refused; every reply once and in order", () =>
    Effect.gen(function* () {
      const server = yield* TestServer
      const { bot } = yield* server.addBot("Busy")
      server.telegram.setFloodLimits(limits)
      const rejectedBefore = server.telegram.floodRejections()
      const chatId = 515_000
      const count = limits.perChat.burst + 4
      for (let n = 1; n <= count; n++) {
        const response = yield* postUpdate(server.baseUrl, bot, textUpdate(chatId, `busy ${n}`))
        assert.strictEqual(response.status, 200)
      }
      const sent = yield* eventually(() => {
        const replies = server.telegram.sentTo(chatId)
        return replies.length >= count ? replies : undefined
      }, 30_000)
      assert.deepStrictEqual(
        sent.map((message) => message.text),
        Array.from({ length: count }, (_, i) => `reply to: busy ${i + 1}`)
      )
      assert.strictEqual(server.telegram.floodRejections() - rejectedBefore, 0)
      // Past the burst, one a second: the last of them 4 refills after the burst.
      const spread = sent.at(-1)!.time - sent[0]!.time
      assert.isAtLeast(spread, 3_000)
      server.telegram.setFloodLimits(null)
    })
  )
})
