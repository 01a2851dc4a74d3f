import { BotRepository, UpdateInbox } from "@botfleet/application"
import { Bot, BotId } from "@botfleet/domain"
import { serverUrl, TestDatabase } from "@botfleet/testing"
import { assert, layer } from "@effect/vitest"
import { Effect, Layer, Option } from "effect"
import * as UpdateInboxMemory from "../../src/inbox/UpdateInboxMemory.ts"
import * as UpdateInboxPg from "../../src/inbox/UpdateInboxPg.ts"
import * as RepositoriesMemory from "../../src/memory/RepositoriesMemory.ts"
import * as Database from "../../src/postgres/Database.ts"
import * as RepositoriesPg from "../../src/postgres/repositories/RepositoriesPg.ts"

const at = new Date("2026-01-01T00:00:00Z")

/** Done and the chat's next update in one call, the same on PostgreSQL and in memory. */
const contract = (name: string, implementation: Layer.Layer<UpdateInbox | BotRepository>) =>
  layer(implementation)(`UpdateInbox.markDoneAndNext (${name})`, (it) => {
    it.effect("marks the update done and returns the chat's next one, then none", () =>
      Effect.gen(function* () {
        const inbox = yield* UpdateInbox
        const id = BotId.make(crypto.randomUUID())
        const telegramBotId = 7_000_000_000 + Math.floor(Math.random() * 1_000_000)
        yield* (yield* BotRepository).insert(
          new Bot({
            id,
            name: `inbox-${telegramBotId}`,
            tokenCiphertext: "c",
            tokenHint: "h",
            telegramBotId,
            username: `inbox${telegramBotId}_bot`,
            webhookSecret: "s",
            model: null,
            systemPrompt: "",
            startMessage: "",
            helpMessage: "",
            errorMessage: "",
            historyLimit: 20,
            active: true,
            lastError: null,
            lastErrorAt: null,
            pollingOffset: 0,
            createdAt: at,
            updatedAt: at
          })
        )
        const chatKey = `${id}:42`
        for (const updateId of [10, 11]) {
          yield* inbox.accept({
            botId: id,
            updateId,
            chatKey,
            payload: { update_id: updateId },
            traceparent: null
          })
        }
        // Another chat's update is never handed out here.
        yield* inbox.accept({ botId: id, updateId: 12, chatKey: `${id}:43`, payload: {}, traceparent: null })
        const first = Option.getOrThrow(yield* inbox.nextDue(chatKey))
        assert.strictEqual(first.updateId, 10)
        const second = yield* inbox.markDoneAndNext(first.id, chatKey)
        assert.strictEqual(Option.getOrThrow(second).updateId, 11)
        const after = yield* inbox.markDoneAndNext(Option.getOrThrow(second).id, chatKey)
        assert.isTrue(Option.isNone(after))
        assert.isTrue(Option.isNone(yield* inbox.nextDue(chatKey)))
        assert.strictEqual(Option.getOrThrow(yield* inbox.nextDue(`${id}:43`)).updateId, 12)
      })
    )
  })

contract(
  "postgres",
  Layer.mergeAll(UpdateInboxPg.layer, RepositoriesPg.layer).pipe(
    Layer.provide(TestDatabase.layer(serverUrl(), Database.layerAt))
  )
)
contract("memory", Layer.mergeAll(UpdateInboxMemory.layerMemory, RepositoriesMemory.layer))
