/**
 * A bot's own cap on chats in flight (`maxConcurrentChats`), on the memory
 * twins and virtual time: the dispatcher never holds more of its chats than
 * the cap, they still drain oldest first and each in order, and a bot
 * without a cap beside it is not held back. A cap only lowers the fair share.
 */
import { UpdateInboxMemory } from "@botfleet/adapters"
import { UpdateInbox } from "@botfleet/application"
import { assert, describe, it } from "@effect/vitest"
import { Clock, Effect, Layer } from "effect"
import { TestClock } from "effect/testing"
import { Dispatcher, defaultDispatcherOptions } from "../../../server/src/processing/Dispatcher.ts"
import { addBot, harness, textUpdate } from "../harness.ts"
import { timedSends } from "./timedSends.ts"

const { sent, timedTelegram } = timedSends()

const CHATS = 20
const CAPPED_CHAT = 10_000
const FREE_CHAT = 20_000

describe("a bot's maxConcurrentChats", () => {
  it.effect(
    "capped at 2 with 20 chats queued: never more than 2 in flight, drained oldest first, in order",
    () =>
      Effect.gen(function* () {
        sent.length = 0
        const capped = yield* addBot({
          telegramId: 810_000,
          username: "capped_bot",
          streaming: false,
          maxConcurrentChats: 2
        })
        const free = yield* addBot({ telegramId: 810_001, username: "free_bot", streaming: false })
        assert.strictEqual(capped.bot.maxConcurrentChats, 2)
        assert.strictEqual(free.bot.maxConcurrentChats, null)
        const inbox = yield* UpdateInbox
        let updateId = 1
        // Two messages per chat, all stored at once, the capped bot's first.
        for (const [bot, base] of [
          [capped.bot, CAPPED_CHAT],
          [free.bot, FREE_CHAT]
        ] as const) {
          for (let round = 0; round < 2; round++) {
            for (let c = 0; c < CHATS; c++) {
              const payload = textUpdate(updateId++, `m ${c}/${round}`, base + c)
              const stored = yield* inbox.accept({
                botId: bot.id,
                updateId: payload.update_id,
                chatKey: `${bot.id}:${base + c}`,
                payload,
                traceparent: null
              })
              assert.strictEqual(stored, "accepted")
            }
          }
        }
        // The inbox twin's own tables (shared: the store layer is built once per test).
        const tables = yield* UpdateInboxMemory.InboxMemoryStore
        const leasedOf = (botId: string, now: number) =>
          [...tables.leases].filter(([key, lease]) => key.startsWith(`${botId}:`) && lease.expiresAt >= now)
            .length
        const started = yield* Clock.currentTimeMillis
        yield* Layer.build(Dispatcher.layerWith({ ...defaultDispatcherOptions, idlePollMs: 100 }))
        let peakCapped = 0
        let peakFree = 0
        // Each answer takes a second of model time: the capped bot needs 40 / 2 = 20 s of it.
        for (let step = 0; step < 600 && sent.length < 4 * CHATS; step++) {
          yield* TestClock.adjust("100 millis")
          const now = yield* Clock.currentTimeMillis
          peakCapped = Math.max(peakCapped, leasedOf(capped.bot.id, now))
          peakFree = Math.max(peakFree, leasedOf(free.bot.id, now))
        }

        assert.strictEqual(sent.length, 4 * CHATS, "every message answered once")
        assert.strictEqual(peakCapped, 2, "the capped bot held at most its cap, and used it")
        assert.isAbove(peakFree, 2, "the bot without a cap was not held to it")
        const cappedSent = sent.filter((message) => message.chatId < FREE_CHAT)
        const drainMs = Math.max(...cappedSent.map((message) => message.at)) - started
        assert.isAtLeast(drainMs, ((2 * CHATS) / 2) * 1_000, "two at a time, a second each")
        const freeDone = Math.max(...sent.filter((message) => message.chatId >= FREE_CHAT).map((m) => m.at))
        assert.isBelow(freeDone - started, drainMs / 2, "the other bot did not wait behind the capped one")

        // Chats started oldest first, and each chat's replies came in the order of its messages.
        const firstReplies = [...new Set(cappedSent.map((message) => message.chatId))]
        assert.deepStrictEqual(
          firstReplies,
          Array.from({ length: CHATS }, (_, c) => CAPPED_CHAT + c)
        )
        for (let c = 0; c < CHATS; c++) {
          assert.deepStrictEqual(
            cappedSent.filter((message) => message.chatId === CAPPED_CHAT + c).map((message) => message.text),
            [`echo: m ${c}/0`, `echo: m ${c}/1`]
          )
        }
      }).pipe(
        Effect.scoped,
        Effect.provide(
          Layer.merge(harness({ model: "sleeps", telegram: timedTelegram }), UpdateInboxMemory.storeLayer)
        )
      )
  )

  it.effect("a cap above the fair share does not raise it: 8 slots, a bot alone gets 4", () =>
    Effect.gen(function* () {
      sent.length = 0
      const big = yield* addBot({
        telegramId: 810_002,
        username: "big_bot",
        streaming: false,
        maxConcurrentChats: 1000
      })
      const inbox = yield* UpdateInbox
      for (let c = 0; c < CHATS; c++) {
        const payload = textUpdate(c + 1, `m ${c}`, CAPPED_CHAT + c)
        yield* inbox.accept({
          botId: big.bot.id,
          updateId: payload.update_id,
          chatKey: `${big.bot.id}:${CAPPED_CHAT + c}`,
          payload,
          traceparent: null
        })
      }
      const tables = yield* UpdateInboxMemory.InboxMemoryStore
      // Small looks, so the share is reckoned with the bot in flight (a first look of all 8 is held
      // to half as well: slots.test.ts).
      yield* Layer.build(
        Dispatcher.layerWith({ ...defaultDispatcherOptions, concurrency: 8, leaseBatch: 2, idlePollMs: 100 })
      )
      let peak = 0
      for (let step = 0; step < 300 && sent.length < CHATS; step++) {
        yield* TestClock.adjust("100 millis")
        const now = yield* Clock.currentTimeMillis
        peak = Math.max(peak, [...tables.leases.values()].filter((lease) => lease.expiresAt >= now).length)
      }
      assert.strictEqual(sent.length, CHATS)
      assert.strictEqual(peak, 4, "half the slots, as without a cap")
    }).pipe(
      Effect.scoped,
      Effect.provide(
        Layer.merge(harness({ model: "sleeps", telegram: timedTelegram }), UpdateInboxMemory.storeLayer)
      )
    )
  )
})
