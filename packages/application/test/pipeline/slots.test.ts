/**
 * How the dispatcher fills its slots (memory twins, virtual time): a process
 * with many chats waiting fills its slots in a few looks, and on a first look
 * a bot alone gets half the slots, as with a bot already in flight.
 */
import { UpdateInboxMemory } from "@botfleet/adapters"
import { UpdateInbox } from "@botfleet/application"
import type { BotId } from "@botfleet/domain"
import { assert, describe, it } from "@effect/vitest"
import { Clock, Effect, Layer } from "effect"
import { TestClock } from "effect/testing"
import { Dispatcher, defaultDispatcherOptions } from "../../../server/src/processing/Dispatcher.ts"
import { addBot, harness, textUpdate } from "../harness.ts"
import { timedSends } from "./timedSends.ts"

const { sent, timedTelegram } = timedSends()

/** Stores `count` chats' messages for one bot at once, `rounds` per chat, round by round. */
const store = (botId: BotId, firstChat: number, count: number, rounds = 1) =>
  Effect.gen(function* () {
    const inbox = yield* UpdateInbox
    let updateId = firstChat * 10
    for (let round = 0; round < rounds; round++) {
      for (let c = 0; c < count; c++) {
        const payload = textUpdate(updateId++, `m ${c}/${round}`, firstChat + c)
        const stored = yield* inbox.accept({
          botId,
          updateId: payload.update_id,
          chatKey: `${botId}:${firstChat + c}`,
          payload,
          traceparent: null
        })
        assert.strictEqual(stored, "accepted")
      }
    }
  })

const liveLeases = Effect.gen(function* () {
  const tables = yield* UpdateInboxMemory.InboxMemoryStore
  const now = yield* Clock.currentTimeMillis
  return [...tables.leases.values()].filter((lease) => lease.expiresAt >= now).length
})

const memoryHarness = (pacing?: Parameters<typeof harness>[0]) =>
  Layer.merge(harness({ model: "sleeps", telegram: timedTelegram, ...pacing }), UpdateInboxMemory.storeLayer)

describe("filling the slots", () => {
  it.effect("64 slots, 100 chats waiting: filled in 4 looks (8, 16, 32, then the 8 left), not 8", () =>
    Effect.gen(function* () {
      sent.length = 0
      const { bot } = yield* addBot({ telegramId: 821_000, username: "fill_bot", streaming: false })
      yield* store(bot.id, 50_000, 100)
      const inbox = yield* UpdateInbox
      const looks: Array<number> = []
      const counting = UpdateInbox.of({
        ...inbox,
        leaseChats: (owner, limit, leaseSeconds, share) =>
          Effect.tap(inbox.leaseChats(owner, limit, leaseSeconds, share), (chats) =>
            Effect.sync(() => looks.push(chats.length))
          )
      })
      // No fair share in the way: the looks alone are under test.
      yield* Layer.build(
        Dispatcher.layerWith({ ...defaultDispatcherOptions, concurrency: 64, maxChatsPerBot: 64 })
      ).pipe(Effect.provideService(UpdateInbox, counting))
      yield* TestClock.adjust("10 millis")
      assert.strictEqual(yield* liveLeases, 64, "every slot taken")
      assert.deepStrictEqual(looks.slice(0, 4), [8, 16, 32, 8])
      for (let step = 0; step < 100 && sent.length < 100; step++) yield* TestClock.adjust("100 millis")
      assert.strictEqual(sent.length, 100)
    }).pipe(Effect.scoped, Effect.provide(memoryHarness()))
  )

  it.effect("a first look with nothing in flight: a bot alone gets half the slots, not all", () =>
    Effect.gen(function* () {
      sent.length = 0
      const { bot } = yield* addBot({ telegramId: 822_000, username: "alone_bot", streaming: false })
      yield* store(bot.id, 60_000, 40)
      // One look could take all 16.
      yield* Layer.build(
        Dispatcher.layerWith({
          ...defaultDispatcherOptions,
          concurrency: 16,
          leaseBatch: 16,
          idlePollMs: 100
        })
      )
      let peak = 0
      for (let step = 0; step < 100 && sent.length < 40; step++) {
        yield* TestClock.adjust("100 millis")
        peak = Math.max(peak, yield* liveLeases)
      }
      assert.strictEqual(sent.length, 40)
      assert.strictEqual(peak, 8, "half the slots: room for a bot that comes a moment later")
    }).pipe(Effect.scoped, Effect.provide(memoryHarness()))
  )
})
