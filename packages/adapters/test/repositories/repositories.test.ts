import { BotRepository, Transactions } from "@botfleet/application"
import { serverUrl, TestDatabase } from "@botfleet/testing"
import { assert, layer } from "@effect/vitest"
import { Effect, Layer } from "effect"
import * as RepositoriesMemory from "../../src/memory/RepositoriesMemory.ts"
import * as Database from "../../src/postgres/Database.ts"
import * as RepositoriesPg from "../../src/postgres/repositories/RepositoriesPg.ts"
import { storedBot } from "./fixtures.ts"
import { repositoryContract } from "./repositoryContract.ts"

const postgres = RepositoriesPg.layer.pipe(Layer.provide(TestDatabase.layer(serverUrl(), Database.layerAt)))

repositoryContract("postgres", postgres)
repositoryContract("memory", RepositoriesMemory.layer)

const bot = () => storedBot()

// Only Postgres rolls back; the in-memory Transactions documents that it does not.
layer(postgres)("postgres transactions", (it) => {
  it.effect("writes inside a failed transaction are rolled back", () =>
    Effect.gen(function* () {
      const transactions = yield* Transactions
      const bots = yield* BotRepository
      const doomed = bot()
      const failure = yield* Effect.flip(
        transactions.withTransaction(Effect.andThen(bots.insert(doomed), Effect.fail("boom" as const)))
      )
      assert.strictEqual(failure, "boom")
      assert.strictEqual((yield* Effect.flip(bots.findById(doomed.id)))._tag, "BotNotFound")

      const kept = bot()
      assert.strictEqual(yield* transactions.withTransaction(Effect.as(bots.insert(kept), "done")), "done")
      assert.deepStrictEqual(yield* bots.findById(kept.id), kept)
    })
  )
})
