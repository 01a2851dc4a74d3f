/**
 * One busy bot does not stall the fleet, end to end on the real server (the
 * use-case test in usecases/fairness.test.ts is the full-size case on virtual
 * time): a bot gets 300 messages over 60 chats at once, a backlog of ~12 s at
 * its Telegram rate of 25 a second; 5 other bots then get one message each
 * and are answered within 2 s, while the backlog is still draining, in order.
 */
import { assert, layer } from "@effect/vitest"
import { Effect } from "effect"
import {
  eventually,
  postUpdate,
  layer as serverLayer,
  TestServer,
  textUpdate
} from "./support/inProcessServer.ts"

const CHATS = 60
const PER_CHAT = 5

layer(serverLayer(), { timeout: 120_000, excludeTestServices: true })("fairness end to end", (it) => {
  it.effect("20-odd seconds of one bot's backlog do not delay the other bots' answers beyond 2 s", () =>
    Effect.gen(function* () {
      const server = yield* TestServer
      const busy = yield* server.addBot("Viral")
      const others: Array<{ readonly bot: typeof busy.bot }> = []
      for (let i = 0; i < 5; i++) others.push(yield* server.addBot(`Quiet ${i}`))
      for (let round = 0; round < PER_CHAT; round++) {
        yield* Effect.forEach(
          Array.from({ length: CHATS }, (_, c) => c),
          (c) =>
            postUpdate(server.baseUrl, busy.bot, textUpdate(620_000 + c, `busy ${c}/${round}`)).pipe(
              Effect.map((response) => assert.strictEqual(response.status, 200))
            ),
          { concurrency: 20 }
        )
      }
      const postedAt = new Map<number, number>()
      for (const [i, other] of others.entries()) {
        postedAt.set(630_000 + i, Date.now())
        const response = yield* postUpdate(server.baseUrl, other.bot, textUpdate(630_000 + i, `quiet ${i}`))
        assert.strictEqual(response.status, 200)
      }
      const quiet = yield* eventually(() => {
        const replies = others.flatMap((other, i) =>
          server.telegram.sentTo(630_000 + i, other.bot.telegramBotId)
        )
        return replies.length >= others.length ? replies : undefined
      }, 30_000)
      const latencies = quiet.map((message) => message.time - postedAt.get(message.chatId)!)
      assert.isAtMost(Math.max(...latencies), 2_000, `the other bots' latencies: ${latencies.join(", ")} ms`)

      const busySent = yield* eventually(() => {
        const sent = server.telegram.sent.filter((message) => message.botId === busy.bot.telegramBotId)
        return sent.length >= CHATS * PER_CHAT ? sent : undefined
      }, 90_000)
      // Still draining when the others were answered: they did not wait for it.
      assert.isAbove(
        Math.max(...busySent.map((message) => message.time)),
        Math.max(...quiet.map((m) => m.time))
      )
      for (let c = 0; c < CHATS; c++) {
        assert.deepStrictEqual(
          server.telegram.sentTo(620_000 + c, busy.bot.telegramBotId).map((message) => message.text),
          Array.from({ length: PER_CHAT }, (_, round) => `reply to: busy ${c}/${round}`)
        )
      }
    })
  )
})
