/**
 * Poison updates on the memory twins: what the admission rule makes of them,
 * and what the pipeline does with one that can never be processed (parked at
 * once, counted, and the chat goes on). The property test plants seeded
 * mutations of real-looking updates in a chat's queue, each followed by a
 * normal message, and asserts nothing is retried and every normal message is
 * answered in the same drain.
 */
import { TelegramGatewayMemory, TelegramUpdates } from "@botfleet/adapters"
import { admitUpdate, MAX_UPDATE_DEPTH, Metrics, UpdateInbox } from "@botfleet/application"
import { chatKey } from "@botfleet/domain"
import { Poison } from "@botfleet/testing"
import { assert, describe, it } from "@effect/vitest"
import { Arbitrary, Effect, Metric } from "effect"
import { TestClock } from "effect/testing"
import { addBot, CHAT_ID, drain, harness, textUpdate } from "../harness.ts"

const { TelegramMemoryLog } = TelegramGatewayMemory
const { readUpdate, TelegramUpdate } = TelegramUpdates

const failures = (kind: string) =>
  Effect.map(
    Metric.value(Metric.withAttributes(Metrics.pipelineFailures, { class: kind })),
    (state) => state.count
  )

const sentTexts = TelegramMemoryLog.use((log) =>
  Effect.map(log.sentMessages, (sent) => sent.map((message) => message.text))
)

describe("admitUpdate", () => {
  it("keeps a good update as it is", () => {
    const update = textUpdate(1, "hello 👋")
    assert.deepStrictEqual(admitUpdate(update), { updateId: 1, payload: update, problem: null })
  })

  it("replaces NUL and lone surrogates in keys and values, and keeps the rest of the text", () => {
    const update = textUpdate(2, "a\u0000b\ud800c 👋")
    const admitted = admitUpdate({ ...update, "odd\u0000key": { "k\udc00": "v\u0000" } })
    assert.isNull(admitted.problem)
    assert.deepStrictEqual(admitted.payload, {
      ...textUpdate(2, "a\uFFFDb\uFFFDc 👋"),
      "odd\uFFFDkey": { "k\uFFFD": "v\uFFFD" }
    })
  })

  it("refuses nesting past the limit and cuts it off in the stored copy", () => {
    const admitted = admitUpdate({ ...textUpdate(3, "hi"), extra: Poison.nested(5_000) })
    assert.strictEqual(admitted.problem, `the update is nested deeper than ${MAX_UPDATE_DEPTH} levels`)
    // The copy can be written as JSON again: the deep part is gone.
    assert.isString(JSON.stringify(admitted.payload))
  })

  it("refuses ids outside Telegram's ranges, naming the field", () => {
    const base = textUpdate(4, "hi")
    const withChatId = (id: number) => ({
      ...base,
      message: { ...base.message, chat: { id, type: "private" } }
    })
    assert.strictEqual(
      readUpdate(withChatId(2 ** 52 + 2)).problem,
      "message.chat.id: expected an integer from -4503599627370496 to 4503599627370496"
    )
    // Past 2^53 a number is no longer a whole number JavaScript can hold exactly.
    assert.strictEqual(
      readUpdate(withChatId(2 ** 53 + 2)).problem,
      "message.chat.id: expected an integer from -4503599627370496 to 4503599627370496"
    )
    assert.strictEqual(
      readUpdate(withChatId(-0.25)).problem,
      "message.chat.id: expected an integer from -4503599627370496 to 4503599627370496"
    )
    assert.strictEqual(
      readUpdate({ ...base, message: { ...base.message, message_id: 2.5 } }).problem,
      "message.message_id: expected an integer from 1 to 2147483647"
    )
    assert.strictEqual(
      readUpdate({ ...base, message: { ...base.message, from: { ...base.message.from, id: 3.25 } } }).problem,
      "message.from.id: expected an integer from -4503599627370496 to 4503599627370496"
    )
    assert.strictEqual(
      readUpdate({ ...base, update_id: -1 }).problem,
      "the update has no update_id (a whole number from 0)"
    )
  })
})

/** Stores a payload in the queue of the chat CHAT_ID, whatever the payload says. */
const receiveInChat = Effect.fn("test.receiveInChat")(function* (
  botId: Parameters<typeof chatKey>[0],
  updateId: number,
  payload: unknown
) {
  yield* TestClock.adjust("1 second")
  const inbox = yield* UpdateInbox
  yield* inbox.accept({ botId, updateId, chatKey: chatKey(botId, CHAT_ID), payload, traceparent: null })
  return chatKey(botId, CHAT_ID)
})

describe("ChatWorker and an update that can never be processed", () => {
  it.effect("parks it as failed on the first attempt, counts it, and answers the next message", () =>
    Effect.gen(function* () {
      const { bot } = yield* addBot()
      const invalidBefore = yield* failures("invalid")
      const base = textUpdate(1, "poison")
      yield* receiveInChat(bot.id, 1, { ...base, message: { ...base.message, message_id: 2.5 } })
      const key = yield* receiveInChat(bot.id, 2, textUpdate(2, "normal"))
      assert.strictEqual(yield* drain(key), "idle")
      assert.deepStrictEqual(yield* sentTexts, ["echo: normal"])
      const stats = yield* UpdateInbox.use((inbox) => inbox.stats)
      assert.deepStrictEqual(stats, { pending: 0, oldestPendingAgeSeconds: 0, failed: 1 })
      assert.strictEqual((yield* failures("invalid")) - invalidBefore, 1)
      const listed = yield* UpdateInbox.use((inbox) => inbox.listFailed({ botId: bot.id }, { limit: 10 }))
      assert.deepStrictEqual(
        listed.items.map((item) => [item.updateId, item.attempts, item.error]),
        [[1, 1, "invalid update: message.message_id: expected an integer from 1 to 2147483647"]]
      )
    }).pipe(Effect.provide(harness()))
  )

  it.effect("property: 400 seeded mutations never wedge the chat and are never retried", () =>
    Effect.gen(function* () {
      const seed = 15
      const rng = Poison.random(seed)
      const { bot } = yield* addBot()
      // Real-looking updates from the schema the pipeline reads, plus the common text message.
      const generated = yield* Arbitrary.sampleEffect(Arbitrary.schema(TelegramUpdate), {
        count: 100,
        seed,
        size: 8
      })
      const bases: ReadonlyArray<unknown> = [...generated, textUpdate(0, "hello"), textUpdate(0, "/start")]
      const retryableBefore = yield* failures("retryable")
      const invalidBefore = yield* failures("invalid")
      let updateId = 1
      for (let index = 0; index < 400; index++) {
        const poison = Poison.mutate(rng.pick(bases), rng)
        const key = yield* receiveInChat(bot.id, updateId++, poison)
        const normal = `normal ${index}`
        yield* receiveInChat(bot.id, updateId, textUpdate(updateId++, normal))
        const outcome = yield* drain(key)
        const where = `seed ${seed}, case ${index}: ${Poison.toJsonText(poison).slice(0, 300)}`
        assert.strictEqual(outcome, "idle", where)
        const sent = yield* sentTexts
        assert.include(sent, `echo: ${normal}`, where)
      }
      assert.strictEqual(yield* failures("retryable"), retryableBefore, "a poison update was retried")
      // Not vacuous: both outcomes occur (parked as invalid, or harmless enough to process).
      const parked = (yield* failures("invalid")) - invalidBefore
      assert.isAbove(parked, 100)
      assert.isBelow(parked, 400)
      const stats = yield* UpdateInbox.use((inbox) => inbox.stats)
      assert.strictEqual(stats.pending, 0)
    }).pipe(Effect.provide(harness()))
  )
})
