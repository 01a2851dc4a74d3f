import { BotRepository, UpdateInbox } from "@botfleet/application"
import { serverUrl, TestDatabase } from "@botfleet/testing"
import { assert, layer } from "@effect/vitest"
import { Effect, Exit, Layer } from "effect"
import { SqlClient } from "effect/sql"
import * as Database from "../../src/postgres/Database.ts"
import * as RepositoriesMemory from "../../src/repositories/RepositoriesMemory.ts"
import * as RepositoriesPg from "../../src/repositories/RepositoriesPg.ts"
import * as UpdateInboxMemory from "../../src/updateInbox/UpdateInboxMemory.ts"
import * as UpdateInboxPg from "../../src/updateInbox/UpdateInboxPg.ts"
import { storedBot, writtenBy } from "../repositories/fixtures.ts"

/**
 * Updates accepted at the same moment (many webhooks, many pollers): each
 * gets its own answer, the same on PostgreSQL and in memory, whatever else
 * arrived with it.
 */
const contract = (name: string, implementation: Layer.Layer<UpdateInbox | BotRepository>) =>
  layer(implementation)(`UpdateInbox.accept, many at once (${name})`, (it) => {
    it.effect("each update once; a repeat arriving with it is a duplicate", () =>
      Effect.gen(function* () {
        const inbox = yield* UpdateInbox
        const bots = yield* BotRepository
        const active = storedBot({ active: true })
        yield* bots.insert(active)
        const update = (botId: typeof active.id, updateId: number) => ({
          botId,
          updateId,
          chatKey: `${botId}:${updateId % 7}`,
          payload: { update_id: updateId, message: { text: `hello ${updateId}` } },
          traceparent: updateId % 2 === 0 ? null : `00-${"a".repeat(32)}-${"b".repeat(16)}-01`
        })
        const arriving = [
          ...Array.from({ length: 40 }, (_, index) => update(active.id, 100 + index)),
          // Telegram sent 105 again before our first answer reached it.
          update(active.id, 105)
        ]
        const outcomes = yield* Effect.all(
          arriving.map((one) => inbox.accept(one)),
          { concurrency: "unbounded" }
        )
        assert.deepStrictEqual(outcomes.slice(0, 40), Array(40).fill("accepted"))
        assert.strictEqual(outcomes[40], "duplicate")
        // Stored once each, with its own chat and trace.
        const stored = yield* inbox.nextDue(`${active.id}:${105 % 7}`)
        assert.strictEqual(stored._tag, "Some")
        const stats = yield* inbox.stats
        assert.isAtLeast(stats.pending, 40)
        // And again later: all duplicates.
        const again = yield* Effect.all(
          arriving.slice(0, 5).map((one) => inbox.accept(one)),
          { concurrency: "unbounded" }
        )
        assert.deepStrictEqual(again, Array(5).fill("duplicate"))
      })
    )
  })

const postgres = Layer.mergeAll(UpdateInboxPg.layer, RepositoriesPg.layer).pipe(
  Layer.provideMerge(TestDatabase.layer(serverUrl(), Database.layerAt))
)

contract("postgres", postgres)
contract("memory", Layer.mergeAll(UpdateInboxMemory.layerMemory, RepositoriesMemory.layer))

layer(postgres)("UpdateInbox.accept on PostgreSQL", (it) => {
  it.effect("a disabled bot's update arriving with others is refused alone", () =>
    Effect.gen(function* () {
      const inbox = yield* UpdateInbox
      const bots = yield* BotRepository
      const active = storedBot({ active: true })
      const disabled = storedBot({ active: false })
      yield* bots.insert(active)
      yield* bots.insert(disabled)
      const outcomes = yield* Effect.all(
        [active.id, disabled.id, active.id].map((botId, index) =>
          inbox.accept({ botId, updateId: index, chatKey: `${botId}:1`, payload: {}, traceparent: null })
        ),
        { concurrency: "unbounded" }
      )
      assert.deepStrictEqual(outcomes, ["accepted", "duplicate", "accepted"])
    })
  )

  it.effect("updates arriving together are stored by one statement", () =>
    Effect.gen(function* () {
      const inbox = yield* UpdateInbox
      const bot = storedBot({ active: true })
      yield* (yield* BotRepository).insert(bot)
      yield* Effect.all(
        Array.from({ length: 50 }, (_, index) =>
          inbox.accept({
            botId: bot.id,
            updateId: index,
            chatKey: `${bot.id}:${index}`,
            payload: { update_id: index },
            traceparent: null
          })
        ),
        { concurrency: "unbounded" }
      )
      assert.deepStrictEqual(yield* writtenBy("telegram_updates", "bot_id", bot.id), {
        rows: 50,
        transactions: 1
      })
    })
  )

  it.effect("a row PostgreSQL refuses fails alone; the others arriving with it are stored", () =>
    Effect.gen(function* () {
      const inbox = yield* UpdateInbox
      const sql = yield* SqlClient.SqlClient
      const bot = storedBot({ active: true })
      yield* (yield* BotRepository).insert(bot)
      const exits = yield* Effect.all(
        Array.from({ length: 10 }, (_, index) =>
          inbox
            .accept({
              botId: bot.id,
              updateId: index,
              chatKey: `${bot.id}:${index}`,
              // jsonb refuses a NUL character (the webhook strips them first; the inbox must not rely on it).
              payload: { update_id: index, text: index === 3 ? "bad \u0000 text" : "fine" },
              traceparent: null
            })
            .pipe(Effect.exit)
        ),
        { concurrency: "unbounded" }
      )
      assert.isTrue(Exit.isFailure(exits[3]!))
      assert.deepStrictEqual(
        exits.filter((_, index) => index !== 3).map((exit) => (Exit.isSuccess(exit) ? exit.value : "failed")),
        Array(9).fill("accepted")
      )
      const rows = yield* sql<{ update_id: string }>`
        SELECT update_id FROM telegram_updates WHERE bot_id = ${bot.id} ORDER BY update_id`
      assert.deepStrictEqual(
        rows.map((row) => Number(row.update_id)),
        [0, 1, 2, 4, 5, 6, 7, 8, 9]
      )
    })
  )
})
