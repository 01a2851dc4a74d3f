import { BotRepository, ChatRepository, MessageRepository, Transactions } from "@botfleet/application"
import { type Chat, ChatId, Message, MessageId, MessageModel } from "@botfleet/domain"
import { serverUrl, TestDatabase } from "@botfleet/testing"
import { assert, layer } from "@effect/vitest"
import { Effect, Exit, Layer } from "effect"
import * as Database from "../../src/postgres/Database.ts"
import * as RepositoriesMemory from "../../src/repositories/RepositoriesMemory.ts"
import * as RepositoriesPg from "../../src/repositories/RepositoriesPg.ts"
import { storedBot, writtenBy } from "./fixtures.ts"
import { repositoryContract } from "./repositoryContract.ts"

const postgres = RepositoriesPg.layer.pipe(
  Layer.provideMerge(TestDatabase.layer(serverUrl(), Database.layerAt))
)

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

layer(postgres)("postgres: messages stored together", (it) => {
  const chatOf = Effect.gen(function* () {
    const bots = yield* BotRepository
    const stored = bot()
    yield* bots.insert(stored)
    return yield* (yield* ChatRepository).findOrCreate({
      botId: stored.id,
      telegramChatId: 42,
      type: "private",
      title: null,
      tgUserId: null
    })
  })
  const message = (chat: Chat, updateId: number) =>
    MessageModel.incoming({
      id: MessageId.make(crypto.randomUUID()),
      chatId: chat.id,
      botId: chat.botId,
      thread: chat.thread,
      tgUserId: null,
      updateId,
      telegramMessageId: updateId,
      text: `message ${updateId}`,
      senderName: null,
      kind: "text",
      mediaSeconds: null,
      at: new Date(1_700_000_000_000)
    })

  it.effect("messages arriving together are stored by one statement", () =>
    Effect.gen(function* () {
      const messages = yield* MessageRepository
      const chat = yield* chatOf
      yield* Effect.all(
        Array.from({ length: 30 }, (_, index) => messages.insert(message(chat, index))),
        { concurrency: "unbounded" }
      )
      assert.deepStrictEqual(yield* writtenBy("messages", "chat_id", chat.id), { rows: 30, transactions: 1 })
    })
  )

  it.effect("chats of updates arriving together are found or created by one statement", () =>
    Effect.gen(function* () {
      const chats = yield* ChatRepository
      const stored = bot()
      yield* (yield* BotRepository).insert(stored)
      yield* Effect.all(
        Array.from({ length: 20 }, (_, index) =>
          chats.findOrCreate({
            botId: stored.id,
            telegramChatId: 100 + index,
            type: "private",
            title: null,
            tgUserId: null,
            lastMessageAt: new Date(1_700_000_000_000)
          })
        ),
        { concurrency: "unbounded" }
      )
      assert.deepStrictEqual(yield* writtenBy("chats", "bot_id", stored.id), { rows: 20, transactions: 1 })
    })
  )

  it.effect("a message PostgreSQL refuses fails alone; the others arriving with it are stored", () =>
    Effect.gen(function* () {
      const messages = yield* MessageRepository
      const chat = yield* chatOf
      const orphan = new Message({ ...message(chat, 3), chatId: ChatId.make(crypto.randomUUID()) })
      const arriving = [0, 1, 2, 4].map((updateId) => message(chat, updateId))
      const exits = yield* Effect.all(
        [orphan, ...arriving].map((one) => Effect.exit(messages.insert(one))),
        { concurrency: "unbounded" }
      )
      assert.isTrue(Exit.hasDies(exits[0]!), "a message of a chat that does not exist")
      assert.deepStrictEqual(
        exits.slice(1).map((exit) => (Exit.isSuccess(exit) ? exit.value : "failed")),
        arriving
      )
    })
  )
})
