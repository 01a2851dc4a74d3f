import { BotRepository, UpdateInbox } from "@botfleet/application"
import { serverUrl, TestDatabase } from "@botfleet/testing"
import { assert, layer } from "@effect/vitest"
import { Effect, Layer, Option } from "effect"
import { TestClock } from "effect/testing"
import * as Database from "../../src/postgres/Database.ts"
import * as RepositoriesMemory from "../../src/repositories/RepositoriesMemory.ts"
import * as RepositoriesPg from "../../src/repositories/RepositoriesPg.ts"
import * as UpdateInboxMemory from "../../src/updateInbox/UpdateInboxMemory.ts"
import * as UpdateInboxPg from "../../src/updateInbox/UpdateInboxPg.ts"
import { storedBot } from "../repositories/fixtures.ts"

/**
 * Leasing with heads, and "done" with the chat's next update (or the lease
 * handed back) in one call, the same on PostgreSQL and in memory.
 */
const contract = (name: string, implementation: Layer.Layer<UpdateInbox | BotRepository>) =>
  layer(implementation)(`UpdateInbox.markDoneAndNext (${name})`, (it) => {
    it.effect(
      "leases chats with their heads; done returns the next one, or none and hands the lease back",
      () =>
        Effect.gen(function* () {
          const inbox = yield* UpdateInbox
          const bot = storedBot({ active: true })
          const id = bot.id
          yield* (yield* BotRepository).insert(bot)
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
          yield* inbox.accept({
            botId: id,
            updateId: 12,
            chatKey: `${id}:43`,
            payload: {},
            traceparent: null
          })
          // Leased with their heads, read in the same statement.
          const leased = yield* inbox.leaseChats("me", 100, 15)
          const mine = leased.filter((chat) => chat.chatKey.startsWith(id))
          assert.deepStrictEqual(mine.map((chat) => [chat.chatKey, chat.head.updateId]).sort(), [
            [chatKey, 10],
            [`${id}:43`, 12]
          ])
          const first = mine.find((chat) => chat.chatKey === chatKey)!.head
          const second = yield* inbox.markDoneAndNext(first.id, chatKey, "me")
          assert.strictEqual(Option.getOrThrow(second).updateId, 11)
          // An update was due: the lease is still ours.
          yield* inbox.accept({ botId: id, updateId: 13, chatKey, payload: {}, traceparent: null })
          assert.isFalse((yield* inbox.leaseChats("other", 100, 15)).some((chat) => chat.chatKey === chatKey))
          const third = yield* inbox.markDoneAndNext(Option.getOrThrow(second).id, chatKey, "me")
          assert.strictEqual(Option.getOrThrow(third).updateId, 13)
          const after = yield* inbox.markDoneAndNext(Option.getOrThrow(third).id, chatKey, "me")
          assert.isTrue(Option.isNone(after))
          assert.isTrue(Option.isNone(yield* inbox.nextDue(chatKey)))
          // None due: the lease went with the last "done", so the next update is another owner's at once.
          yield* inbox.accept({ botId: id, updateId: 14, chatKey, payload: {}, traceparent: null })
          const taken = (yield* inbox.leaseChats("other", 100, 15)).find((chat) => chat.chatKey === chatKey)
          assert.strictEqual(taken?.head.updateId, 14)
          assert.strictEqual(Option.getOrThrow(yield* inbox.nextDue(`${id}:43`)).updateId, 12)
        })
    )

    it.effect(
      "a process whose lease ran out and was taken over gets no next update and leaves the new lease",
      () =>
        Effect.gen(function* () {
          const inbox = yield* UpdateInbox
          const bot = storedBot({ active: true })
          yield* (yield* BotRepository).insert(bot)
          const chatKey = `${bot.id}:7`
          for (const updateId of [20, 21]) {
            yield* inbox.accept({ botId: bot.id, updateId, chatKey, payload: {}, traceparent: null })
          }
          // A lease of no time: it has run out by the next statement.
          const first = (yield* inbox.leaseChats("slow", 100, 0)).find(
            (chat) => chat.chatKey === chatKey
          )!.head
          assert.strictEqual(first.updateId, 20)
          // PostgreSQL's next statement is already later; the memory twin reads the (test) clock.
          yield* TestClock.adjust("5 millis")
          const taken = (yield* inbox.leaseChats("new", 100, 15)).find((chat) => chat.chatKey === chatKey)
          assert.strictEqual(taken?.head.updateId, 20)
          // The old owner finishes update 20: it is done, but 21 is not handed to it.
          assert.isTrue(Option.isNone(yield* inbox.markDoneAndNext(first.id, chatKey, "slow")))
          assert.strictEqual(Option.getOrThrow(yield* inbox.nextDue(chatKey)).updateId, 21)
          // The new owner still holds the chat: nobody else can lease it, and it renews.
          assert.isFalse((yield* inbox.leaseChats("third", 100, 15)).some((chat) => chat.chatKey === chatKey))
          assert.isTrue(yield* inbox.renewLease(chatKey, "new", 15))
          assert.isFalse(yield* inbox.renewLease(chatKey, "slow", 15))
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
