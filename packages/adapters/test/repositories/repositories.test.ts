import { BotRepository, Transactions } from "@botfleet/application"
import { Bot, BotId } from "@botfleet/domain"
import { serverUrl, TestDatabase } from "@botfleet/testing"
import { assert, layer } from "@effect/vitest"
import { Effect, Layer } from "effect"
import * as RepositoriesMemory from "../../src/memory/RepositoriesMemory.ts"
import * as Database from "../../src/postgres/Database.ts"
import * as RepositoriesPg from "../../src/postgres/repositories/RepositoriesPg.ts"
import { repositoryContract } from "./repositoryContract.ts"

const postgres = RepositoriesPg.layer.pipe(Layer.provide(TestDatabase.layer(serverUrl(), Database.layerAt)))

repositoryContract("postgres", postgres)
repositoryContract("memory", RepositoriesMemory.layer)

const bot = () => {
  const telegramBotId = 6_000_000_000 + Math.floor(Math.random() * 1_000_000)
  return new Bot({
    id: BotId.make(crypto.randomUUID()),
    name: `tx-${telegramBotId}`,
    tokenCiphertext: "c",
    tokenHint: "h",
    telegramBotId,
    username: `tx${telegramBotId}_bot`,
    webhookSecret: "s",
    model: null,
    systemPrompt: "",
    startMessage: "",
    helpMessage: "",
    errorMessage: "",
    historyLimit: 20,
    active: false,
    lastError: null,
    lastErrorAt: null,
    pollingOffset: 0,
    createdAt: new Date(0),
    updatedAt: new Date(0)
  })
}

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
