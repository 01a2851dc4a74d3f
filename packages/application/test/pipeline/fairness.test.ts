/**
 * One busy bot does not stall the fleet (the dispatcher on the memory twins,
 * virtual time): one bot gets 3,000 messages over 300 chats at once, then 20
 * other bots one message each. The busy bot may send only ~25 a second, so
 * its backlog rightly takes about two minutes; the other bots are answered
 * within 2 s, because its chats wait for their send budget handed back
 * (Paced) rather than in a slot, and slots are shared out by bot.
 */
import { defaultProviderPacing, telegramLimits, UpdateInbox } from "@botfleet/application"
import { assert, describe, it } from "@effect/vitest"
import { Clock, Effect, Layer } from "effect"
import { TestClock } from "effect/testing"
import { Dispatcher, defaultDispatcherOptions } from "../../../server/src/processing/Dispatcher.ts"
import { addBot, harness, receive, textUpdate } from "../harness.ts"
import { timedSends } from "./timedSends.ts"

const { sent, timedTelegram } = timedSends()

const percentile = (values: ReadonlyArray<number>, p: number) => {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0
}

describe("fair scheduling across bots", () => {
  it.effect(
    "a bot with 3,000 queued updates over 300 chats: 20 other bots answered within 2 s, the backlog at its Telegram rate, in order",
    () =>
      Effect.gen(function* () {
        sent.length = 0
        const busy = yield* addBot({ telegramId: 800_000, username: "viral_bot", streaming: false })
        const others = []
        for (let i = 0; i < 20; i++) {
          others.push(
            yield* addBot({ telegramId: 800_001 + i, username: `quiet_${i}_bot`, streaming: false })
          )
        }
        // receive() moves the clock a second per update; these arrive at once.
        const inbox = yield* UpdateInbox
        let updateId = 1
        for (let round = 0; round < 10; round++) {
          for (let c = 0; c < 300; c++) {
            const payload = textUpdate(updateId++, `busy ${c}/${round}`, 1_000 + c)
            yield* inbox.accept({
              botId: busy.bot.id,
              updateId: payload.update_id,
              chatKey: `${busy.bot.id}:${1_000 + c}`,
              payload,
              traceparent: null
            })
          }
        }
        const started = yield* Clock.currentTimeMillis
        const dispatcher = yield* Layer.build(
          Dispatcher.layerWith({ ...defaultDispatcherOptions, idlePollMs: 100 })
        )
        // The busy bot's chats take the process first; then the others' messages come.
        yield* TestClock.adjust("1 second")
        const postedAt = new Map<number, number>()
        for (const [i, other] of others.entries()) {
          yield* receive(other.bot, textUpdate(100_000 + i, `quiet ${i}`, 50_000 + i))
          postedAt.set(50_000 + i, yield* Clock.currentTimeMillis)
        }
        void dispatcher
        // Drive the clock until everything is sent (the backlog needs ~2 virtual minutes).
        for (let step = 0; step < 2_000 && sent.length < 3_020; step++) yield* TestClock.adjust("100 millis")

        assert.strictEqual(sent.length, 3_020, "every update answered once")
        const quiet = sent.filter((message) => message.chatId >= 50_000)
        const latencies = quiet.map((message) => message.at - postedAt.get(message.chatId)!)
        assert.strictEqual(quiet.length, 20)
        assert.isAtMost(percentile(latencies, 99), 2_000, `others' latencies: ${latencies.join(", ")}`)

        // The busy bot: at its Telegram rate, no faster, and done in about the time that allows.
        const busySends = sent.filter((message) => message.chatId < 50_000).map((message) => message.at)
        const { perSecond, burst } = telegramLimits.perBot
        for (let from = started; from < Math.max(...busySends); from += 1_000) {
          const inSecond = busySends.filter((at) => at >= from && at < from + 1_000).length
          assert.isAtMost(inSecond, Math.ceil(perSecond) + burst)
        }
        const drainMs = Math.max(...busySends) - started
        assert.isAtLeast(drainMs, ((3_000 - burst) / perSecond) * 1_000 - 1_000)
        assert.isAtMost(drainMs, (3_000 / perSecond) * 1_000 * 1.25, "the backlog drains near its rate")

        // Each busy chat's replies in the order its messages came.
        for (let c = 0; c < 300; c++) {
          const texts = sent.filter((message) => message.chatId === 1_000 + c).map((message) => message.text)
          assert.deepStrictEqual(
            texts,
            Array.from({ length: 10 }, (_, round) => `echo: busy ${c}/${round}`)
          )
        }
      }).pipe(
        Effect.scoped,
        Effect.provide(
          harness({
            model: "sleeps",
            telegram: timedTelegram,
            pacing: { sendLimits: telegramLimits, providerPacing: defaultProviderPacing }
          })
        )
      ),
    300_000
  )
})
