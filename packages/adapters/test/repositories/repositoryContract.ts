/**
 * The behaviour every implementation of the storage ports must share. Run
 * against Postgres and against the in-memory twins, so a test that passes on
 * the twins says something about production.
 *
 * Tests of one block share one database (or one set of tables): each makes
 * its own bots, users and chats, and only looks at those.
 */

import {
  BotRepository,
  ChatRepository,
  EffectOutbox,
  MessageRepository,
  type Page,
  type Transactions
} from "@botfleet/application"
import {
  Bot,
  Chat,
  ChatId,
  type DomainEffect,
  Message,
  MessageId,
  MessageModel,
  TelegramUserId,
  TgUser
} from "@botfleet/domain"
import { assert, layer } from "@effect/vitest"
import { Effect, Exit, type Layer, Option } from "effect"
import { storedBot, uniqueTelegramId } from "./fixtures.ts"

export type Repositories = Transactions | BotRepository | ChatRepository | MessageRepository | EffectOutbox

/** Unique per test run, and large: Telegram ids no longer fit in 32 bits. */
const nextTelegramId = uniqueTelegramId

/** Whole milliseconds, the precision both implementations keep. */
const at = (seconds: number) => new Date(Date.UTC(2025, 0, 1) + seconds * 1000)

const makeBot = storedBot

const makeUser = (fields: Partial<ConstructorParameters<typeof TgUser>[0]> = {}) =>
  new TgUser({
    telegramId: TelegramUserId.make(nextTelegramId()),
    firstName: "Ada",
    lastName: null,
    username: "ada",
    languageCode: "en",
    isBot: false,
    firstSeenAt: at(0),
    lastSeenAt: at(0),
    ...fields
  })

const makeMessage = (chat: Chat, fields: Partial<ConstructorParameters<typeof Message>[0]> = {}) =>
  new Message({
    id: MessageId.make(crypto.randomUUID()),
    chatId: chat.id,
    botId: chat.botId,
    role: "user",
    text: "hi",
    thread: chat.thread,
    tgUserId: chat.tgUserId,
    updateId: null,
    replyTo: null,
    telegramMessageIds: [],
    chunksSent: 0,
    model: null,
    inputTokens: 0,
    outputTokens: 0,
    costUsd: 0,
    status: "received",
    error: null,
    createdAt: at(0),
    sentAt: null,
    ...fields
  })

/** A bot with a private chat of a fresh user. */
const botWithChat = Effect.gen(function* () {
  const bots = yield* BotRepository
  const chats = yield* ChatRepository
  const bot = makeBot()
  yield* bots.insert(bot)
  const user = makeUser()
  yield* chats.upsertUser(user)
  const chat = yield* chats.findOrCreate({
    botId: bot.id,
    telegramChatId: user.telegramId,
    type: "private",
    title: null,
    tgUserId: user.telegramId
  })
  return { bot, user, chat }
})

/** Follows cursors to the end, checking that no page is larger than asked. */
const allPages = <A>(limit: number, fetch: (cursor: string | undefined) => Effect.Effect<Page<A>>) =>
  Effect.gen(function* () {
    const pages: Array<ReadonlyArray<A>> = []
    let cursor: string | undefined
    do {
      const page = yield* fetch(cursor)
      assert.isAtMost(page.items.length, limit)
      pages.push(page.items)
      cursor = page.nextCursor ?? undefined
    } while (cursor !== undefined && pages.length < 20)
    return pages
  })

const ids = (items: ReadonlyArray<{ readonly id: string }>) => items.map((item) => item.id)

export const repositoryContract = (name: string, repositories: Layer.Layer<Repositories>) =>
  layer(repositories)(`repository contract: ${name}`, (it) => {
    it.effect("a bot is stored, found, updated and deleted", () =>
      Effect.gen(function* () {
        const bots = yield* BotRepository
        const bot = makeBot({ model: "gpt-4o-mini", lastError: "x", lastErrorAt: at(5) })
        yield* bots.insert(bot)
        assert.deepStrictEqual(yield* bots.findById(bot.id), bot)

        const changed = new Bot({
          ...bot,
          name: `${bot.name}-renamed`,
          active: true,
          historyLimit: 5,
          updatedAt: at(9),
          groupMode: "all"
        })
        yield* bots.update(changed)
        assert.deepStrictEqual(yield* bots.findById(bot.id), changed)

        yield* bots.delete(bot.id)
        assert.strictEqual((yield* Effect.flip(bots.findById(bot.id)))._tag, "BotNotFound")
      })
    )

    it.effect("missing bots are BotNotFound", () =>
      Effect.gen(function* () {
        const bots = yield* BotRepository
        const ghost = makeBot()
        const notFound = yield* Effect.flip(bots.findById(ghost.id))
        assert.strictEqual(notFound._tag, "BotNotFound")
        assert.strictEqual(notFound.botId, ghost.id)
        assert.strictEqual((yield* Effect.flip(bots.update(ghost)))._tag, "BotNotFound")
        assert.strictEqual((yield* Effect.flip(bots.delete(ghost.id)))._tag, "BotNotFound")
      })
    )

    it.effect("bot names are unique whatever their case", () =>
      Effect.gen(function* () {
        const bots = yield* BotRepository
        const first = makeBot()
        yield* bots.insert(first)
        const taken = yield* Effect.flip(bots.insert(makeBot({ name: first.name.toUpperCase() })))
        assert.strictEqual(taken._tag, "BotNameTaken")

        const second = makeBot()
        yield* bots.insert(second)
        const renamed = yield* Effect.flip(bots.update(new Bot({ ...second, name: ` ${first.name}`.trim() })))
        assert.strictEqual(renamed._tag, "BotNameTaken")
        // Keeping its own name is no clash.
        yield* bots.update(new Bot({ ...second, systemPrompt: "changed" }))
      })
    )

    it.effect("a Telegram bot is registered once", () =>
      Effect.gen(function* () {
        const bots = yield* BotRepository
        const first = makeBot()
        yield* bots.insert(first)
        const inUse = yield* Effect.flip(bots.insert(makeBot({ telegramBotId: first.telegramBotId })))
        assert.strictEqual(inUse._tag, "BotTokenInUse")

        const second = makeBot()
        yield* bots.insert(second)
        const moved = yield* Effect.flip(
          bots.update(new Bot({ ...second, telegramBotId: first.telegramBotId }))
        )
        assert.strictEqual(moved._tag, "BotTokenInUse")
      })
    )

    it.effect("list orders by name ignoring case; listActive keeps the active ones", () =>
      Effect.gen(function* () {
        const bots = yield* BotRepository
        const tag = nextTelegramId()
        const b = makeBot({ name: `zz-${tag}-B`, active: true, tokenCiphertext: `v1:${tag}-b` })
        const a = makeBot({ name: `zz-${tag}-a` })
        const c = makeBot({ name: `zz-${tag}-c`, active: true, tokenCiphertext: `v1:${tag}-c` })
        for (const bot of [b, a, c]) yield* bots.insert(bot)
        const mine = (list: ReadonlyArray<Bot>) =>
          ids(list.filter((bot) => bot.name.startsWith(`zz-${tag}-`)))
        assert.deepStrictEqual(mine(yield* bots.list), [a.id, b.id, c.id])
        assert.deepStrictEqual(mine(yield* bots.listActive), [b.id, c.id])
        assert.isTrue((yield* bots.listActive).every((bot) => bot.active))
        const tokens = new Map(
          (yield* bots.listActiveTokens).map((entry) => [entry.id, entry.tokenCiphertext])
        )
        assert.deepStrictEqual(
          [a, b, c].map((bot) => tokens.get(bot.id)),
          [undefined, b.tokenCiphertext, c.tokenCiphertext],
          "listActiveTokens: the active ones, each with its stored ciphertext"
        )
      })
    )

    it.effect("changeVersion moves with every insert, update and delete of a bot", () =>
      Effect.gen(function* () {
        const bots = yield* BotRepository
        const bot = makeBot({ active: true })
        const seen = [yield* bots.changeVersion]
        yield* bots.insert(bot)
        seen.push(yield* bots.changeVersion)
        yield* bots.update(new Bot({ ...bot, tokenCiphertext: `${bot.tokenCiphertext}-new` }))
        seen.push(yield* bots.changeVersion)
        yield* bots.delete(bot.id)
        seen.push(yield* bots.changeVersion)
        for (let i = 1; i < seen.length; i++) {
          assert.notStrictEqual(seen[i], seen[i - 1], `the version moved at step ${i}: ${seen.join(", ")}`)
        }
      })
    )

    it.effect("the polling offset is kept", () =>
      Effect.gen(function* () {
        const bots = yield* BotRepository
        const bot = makeBot()
        yield* bots.insert(bot)
        yield* bots.setPollingOffset(bot.id, 3_000_000_123)
        assert.strictEqual((yield* bots.findById(bot.id)).pollingOffset, 3_000_000_123)
        // An unknown bot is no error.
        yield* bots.setPollingOffset(makeBot().id, 1)
      })
    )

    it.effect("deleting a bot deletes its chats and messages", () =>
      Effect.gen(function* () {
        const bots = yield* BotRepository
        const chats = yield* ChatRepository
        const messages = yield* MessageRepository
        const { bot, chat } = yield* botWithChat
        const message = yield* messages.insert(makeMessage(chat))
        yield* bots.delete(bot.id)
        assert.strictEqual((yield* Effect.flip(chats.findById(chat.id)))._tag, "ChatNotFound")
        assert.strictEqual((yield* Effect.flip(messages.findById(message.id)))._tag, "MessageNotFound")
      })
    )

    it.effect("users are inserted, then their names follow and last_seen_at only moves forward", () =>
      Effect.gen(function* () {
        const chats = yield* ChatRepository
        const user = makeUser({ lastSeenAt: at(10) })
        assert.isTrue(Option.isNone(yield* chats.findUser(user.telegramId)))
        yield* chats.upsertUser(user)
        assert.deepStrictEqual(yield* chats.findUser(user.telegramId), Option.some(user))

        yield* chats.upsertUser(
          new TgUser({ ...user, firstName: "Grace", username: null, languageCode: "fr", lastSeenAt: at(5) })
        )
        const stored = Option.getOrThrow(yield* chats.findUser(user.telegramId))
        assert.strictEqual(stored.firstName, "Grace")
        assert.strictEqual(stored.username, null)
        assert.strictEqual(stored.languageCode, "fr")
        assert.deepStrictEqual(stored.lastSeenAt, at(10))
        assert.deepStrictEqual(stored.firstSeenAt, user.firstSeenAt)
      })
    )

    it.effect("findOrCreate makes a chat once, in thread 1", () =>
      Effect.gen(function* () {
        const bots = yield* BotRepository
        const chats = yield* ChatRepository
        const bot = makeBot()
        yield* bots.insert(bot)
        const request = {
          botId: bot.id,
          telegramChatId: -1_000_000_000_000 - nextTelegramId(),
          type: "supergroup",
          title: "Team",
          tgUserId: null
        }
        const [first, second] = yield* Effect.all(
          [chats.findOrCreate(request), chats.findOrCreate(request)],
          {
            concurrency: 2
          }
        )
        assert.strictEqual(first.id, second.id)
        assert.strictEqual(first.thread, 1)
        assert.strictEqual(first.telegramChatId, request.telegramChatId)
        assert.strictEqual(first.title, "Team")
        assert.strictEqual(first.tgUserId, null)
        assert.strictEqual(first.lastMessageAt, null)
        const again = yield* chats.findOrCreate({ ...request, title: "Renamed" })
        assert.deepStrictEqual(again, first)
        assert.deepStrictEqual(yield* chats.findById(first.id), first)
      })
    )

    it.effect("chats found or created at the same moment: each its own, the last message time kept", () =>
      Effect.gen(function* () {
        const bots = yield* BotRepository
        const chats = yield* ChatRepository
        const bot = makeBot()
        yield* bots.insert(bot)
        const request = (telegramChatId: number, lastMessageAt?: Date) => ({
          botId: bot.id,
          telegramChatId,
          type: "group",
          title: null,
          tgUserId: null,
          lastMessageAt
        })
        const known = yield* chats.findOrCreate(request(1, at(5)))
        const found = yield* Effect.all(
          [
            // An existing chat: the later time is kept, an earlier one never moves it back.
            chats.findOrCreate(request(1, at(9))),
            chats.findOrCreate(request(2, at(1))),
            chats.findOrCreate(request(3, at(2))),
            chats.findOrCreate(request(4)),
            chats.findOrCreate(request(5)),
            // The same new chat twice at once, with and without a time.
            chats.findOrCreate(request(6, at(3))),
            chats.findOrCreate(request(6, at(4)))
          ],
          { concurrency: "unbounded" }
        )
        assert.deepStrictEqual(
          found.map((chat) => [chat.telegramChatId, chat.lastMessageAt?.getTime() ?? null]),
          [
            [1, at(9).getTime()],
            [2, at(1).getTime()],
            [3, at(2).getTime()],
            [4, null],
            [5, null],
            [6, at(3).getTime()],
            [6, at(4).getTime()]
          ]
        )
        assert.strictEqual(found[0]!.id, known.id)
        assert.strictEqual(found[5]!.id, found[6]!.id)
        assert.strictEqual(new Set(found.map((chat) => chat.id)).size, 6)
        assert.strictEqual(
          (yield* chats.findOrCreate(request(1, at(7)))).lastMessageAt?.getTime(),
          at(9).getTime()
        )
      })
    )

    it.effect("a chat's thread, title, error and last message time are updated", () =>
      Effect.gen(function* () {
        const chats = yield* ChatRepository
        const { chat } = yield* botWithChat
        yield* chats.update(
          new Chat({ ...chat, thread: 2, title: "t", lastError: "blocked", lastMessageAt: at(42) })
        )
        const stored = yield* chats.findById(chat.id)
        assert.strictEqual(stored.thread, 2)
        assert.strictEqual(stored.title, "t")
        assert.strictEqual(stored.lastError, "blocked")
        assert.deepStrictEqual(stored.lastMessageAt, at(42))
        assert.deepStrictEqual(stored.createdAt, chat.createdAt)

        const ghost = new Chat({ ...chat, id: ChatId.make(crypto.randomUUID()) })
        assert.strictEqual((yield* Effect.flip(chats.update(ghost)))._tag, "ChatNotFound")
        assert.strictEqual((yield* Effect.flip(chats.findById(ghost.id)))._tag, "ChatNotFound")
      })
    )

    it.effect("chats are listed most recent first, filtered, across pages without gaps or repeats", () =>
      Effect.gen(function* () {
        const bots = yield* BotRepository
        const chats = yield* ChatRepository
        const bot = makeBot()
        yield* bots.insert(bot)
        const regular = makeUser()
        yield* chats.upsertUser(regular)
        // Ties on the time and chats with no message at all are where keyset paging goes wrong.
        const times = [at(30), at(10), at(20), at(20), null, at(20), null]
        const created: Array<Chat> = []
        for (const [index, lastMessageAt] of times.entries()) {
          const chat = yield* chats.findOrCreate({
            botId: bot.id,
            telegramChatId: nextTelegramId(),
            type: "group",
            title: `g${index}`,
            tgUserId: index % 2 === 0 ? regular.telegramId : null
          })
          yield* chats.update(new Chat({ ...chat, lastMessageAt }))
          created.push(new Chat({ ...chat, lastMessageAt }))
        }
        const expected = [...created].sort((a, b) => {
          const x = a.lastMessageAt?.getTime() ?? Number.NEGATIVE_INFINITY
          const y = b.lastMessageAt?.getTime() ?? Number.NEGATIVE_INFINITY
          return y - x || (a.id < b.id ? -1 : 1)
        })

        const pages = yield* allPages(3, (cursor) => chats.list({ botId: bot.id }, { limit: 3, cursor }))
        assert.deepStrictEqual(
          pages.map((page) => page.length),
          [3, 3, 1]
        )
        assert.deepStrictEqual(ids(pages.flat()), ids(expected))

        const byUser = yield* chats.list({ botId: bot.id, tgUserId: regular.telegramId }, { limit: 10 })
        assert.deepStrictEqual(
          ids(byUser.items),
          ids(expected.filter((chat) => chat.tgUserId === regular.telegramId))
        )
        assert.strictEqual(byUser.nextCursor, null)

        const onlyUser = yield* chats.list({ tgUserId: regular.telegramId }, { limit: 10 })
        assert.deepStrictEqual(ids(onlyUser.items), ids(byUser.items))
      })
    )

    it.effect("a page holds at most 200 items whatever the limit asked", () =>
      Effect.gen(function* () {
        const bots = yield* BotRepository
        const chats = yield* ChatRepository
        const bot = makeBot()
        yield* bots.insert(bot)
        yield* Effect.forEach(
          Array.from({ length: 201 }, () => nextTelegramId()),
          (telegramChatId) =>
            chats.findOrCreate({ botId: bot.id, telegramChatId, type: "group", title: null, tgUserId: null }),
          { concurrency: 10 }
        )
        const first = yield* chats.list({ botId: bot.id }, { limit: 10_000 })
        assert.strictEqual(first.items.length, 200)
        assert.isNotNull(first.nextCursor)
        const second = yield* chats.list(
          { botId: bot.id },
          { limit: 10_000, cursor: first.nextCursor ?? undefined }
        )
        assert.strictEqual(second.items.length, 1)
        assert.strictEqual(second.nextCursor, null)
      })
    )

    it.effect("a cursor that was not handed out is a defect", () =>
      Effect.gen(function* () {
        const chats = yield* ChatRepository
        const messages = yield* MessageRepository
        const { chat } = yield* botWithChat
        assert.isTrue(Exit.hasDies(yield* Effect.exit(chats.list({}, { limit: 1, cursor: "garbage" }))))
        const forged = Buffer.from(JSON.stringify([1, "not-a-uuid"])).toString("base64url")
        assert.isTrue(
          Exit.hasDies(yield* Effect.exit(messages.listByChat(chat.id, { limit: 1, cursor: forged })))
        )
      })
    )

    it.effect("an incoming message stored twice for one update is one message", () =>
      Effect.gen(function* () {
        const messages = yield* MessageRepository
        const { chat } = yield* botWithChat
        const first = makeMessage(chat, {
          updateId: 3_000_000_001,
          telegramMessageIds: [5, 3_000_000_000],
          senderName: "Ada Lovelace"
        })
        const stored = yield* messages.insert(first)
        assert.deepStrictEqual(stored, first)
        const repeat = yield* messages.insert(makeMessage(chat, { updateId: 3_000_000_001, text: "again" }))
        assert.deepStrictEqual(repeat, first)
        assert.deepStrictEqual(yield* messages.findByUpdate(chat.botId, 3_000_000_001), Option.some(first))
        assert.isTrue(Option.isNone(yield* messages.findByUpdate(chat.botId, 1)))
        const page = yield* messages.listByChat(chat.id, { limit: 10 })
        assert.deepStrictEqual(ids(page.items), [first.id])
      })
    )

    it.effect("an assistant reply stored twice is one message", () =>
      Effect.gen(function* () {
        const messages = yield* MessageRepository
        const { chat } = yield* botWithChat
        const question = yield* messages.insert(makeMessage(chat, { updateId: 1 }))
        const reply = makeMessage(chat, {
          role: "assistant",
          tgUserId: null,
          replyTo: question.id,
          text: "answer",
          model: "gpt-4o-mini",
          inputTokens: 12,
          outputTokens: 34,
          costUsd: 0.00012345,
          status: "pending",
          createdAt: at(1)
        })
        assert.deepStrictEqual(yield* messages.insert(reply), reply)
        assert.deepStrictEqual(
          yield* messages.insert(makeMessage(chat, { ...reply, id: MessageId.make(crypto.randomUUID()) })),
          reply
        )
        assert.deepStrictEqual(yield* messages.findReply(question.id), Option.some(reply))
        assert.isTrue(Option.isNone(yield* messages.findReply(reply.id)))
        assert.strictEqual((yield* messages.listByChat(chat.id, { limit: 10 })).items.length, 2)
      })
    )

    it.effect("messages stored at the same moment: each its own, a repeat gets the stored one", () =>
      Effect.gen(function* () {
        const messages = yield* MessageRepository
        const { chat } = yield* botWithChat
        const questions = yield* Effect.forEach([11, 12, 13], (updateId) =>
          messages.insert(makeMessage(chat, { updateId }))
        )
        const incoming = [21, 22, 23, 24].map((updateId) =>
          makeMessage(chat, { updateId, text: `m${updateId}` })
        )
        const replies = questions.map((question, index) =>
          makeMessage(chat, {
            role: "assistant",
            tgUserId: null,
            replyTo: question.id,
            text: `answer ${index}`,
            status: "pending"
          })
        )
        const admin = makeMessage(chat, { role: "admin", tgUserId: null, text: "from an admin" })
        const arriving = [
          ...incoming,
          ...replies,
          admin,
          // Repeats of the same update and of the same reply, arriving with the first ones.
          makeMessage(chat, { updateId: 21, text: "again" }),
          makeMessage(chat, { ...replies[0]!, id: MessageId.make(crypto.randomUUID()), text: "again" })
        ]
        const stored = yield* Effect.all(
          arriving.map((message) => messages.insert(message)),
          { concurrency: "unbounded" }
        )
        assert.deepStrictEqual(stored.slice(0, 8), [...incoming, ...replies, admin])
        assert.deepStrictEqual(stored[8], incoming[0])
        assert.deepStrictEqual(stored[9], replies[0])
        const page = yield* messages.listByChat(chat.id, { limit: 50 })
        assert.strictEqual(page.items.length, 3 + 8)
      })
    )

    it.effect("a message is updated; missing ones are MessageNotFound", () =>
      Effect.gen(function* () {
        const messages = yield* MessageRepository
        const { chat } = yield* botWithChat
        const reply = yield* messages.insert(makeMessage(chat, { role: "assistant", status: "pending" }))
        const sent = new Message({
          ...reply,
          status: "sent",
          chunksSent: 2,
          telegramMessageIds: [10, 11],
          sentAt: at(3)
        })
        yield* messages.update(sent)
        assert.deepStrictEqual(yield* messages.findById(reply.id), sent)

        const ghost = makeMessage(chat)
        assert.strictEqual((yield* Effect.flip(messages.update(ghost)))._tag, "MessageNotFound")
        const notFound = yield* Effect.flip(messages.findById(ghost.id))
        assert.strictEqual(notFound._tag, "MessageNotFound")
        assert.strictEqual(notFound.messageId, ghost.id)
      })
    )

    it.effect("a failed message keeps why it failed as data; a retry clears it", () =>
      Effect.gen(function* () {
        const messages = yield* MessageRepository
        const { chat } = yield* botWithChat
        const reply = yield* messages.insert(makeMessage(chat, { role: "assistant", status: "pending" }))
        const failed = MessageModel.failed(reply, "LLM m failed (quota): over", "model_quota")
        yield* messages.update(failed)
        const stored = yield* messages.findById(reply.id)
        assert.strictEqual(stored.failureKind, "model_quota")
        assert.strictEqual(stored.error, "LLM m failed (quota): over")
        yield* messages.update(MessageModel.retried(stored))
        assert.strictEqual((yield* messages.findById(reply.id)).failureKind, null)
        // A failure with no kind given is "other", never null.
        yield* messages.update(MessageModel.failed(reply, "Telegram refused"))
        assert.strictEqual((yield* messages.findById(reply.id)).failureKind, "other")
      })
    )

    it.effect("history is the last messages of the thread, oldest first, without failed ones", () =>
      Effect.gen(function* () {
        const messages = yield* MessageRepository
        const { chat } = yield* botWithChat
        const inThread = (second: number, fields: Partial<ConstructorParameters<typeof Message>[0]> = {}) =>
          messages.insert(makeMessage(chat, { createdAt: at(second), text: `m${second}`, ...fields }))
        const m1 = yield* inThread(1)
        const m2 = yield* inThread(2, { role: "assistant", status: "sent" })
        yield* inThread(3, { role: "assistant", status: "failed" })
        const m4 = yield* inThread(4)
        const m5 = yield* inThread(5, { role: "admin", status: "pending" })
        const m6 = yield* inThread(6, { thread: 2 })

        assert.deepStrictEqual(ids(yield* messages.history(chat.id, 1, null, 3)), [m2.id, m4.id, m5.id])
        assert.deepStrictEqual(ids(yield* messages.history(chat.id, 1, null, 50)), [
          m1.id,
          m2.id,
          m4.id,
          m5.id
        ])
        assert.deepStrictEqual(ids(yield* messages.history(chat.id, 2, null, 50)), [m6.id])
        assert.deepStrictEqual(yield* messages.history(chat.id, 1, null, 0), [])
        assert.deepStrictEqual(yield* messages.history(chat.id, 3, null, 10), [])

        // Read at the same moment (many chats answered at once), each gets its own.
        const other = (yield* botWithChat).chat
        const o1 = yield* messages.insert(makeMessage(other, { createdAt: at(1), text: "o1" }))
        const together = yield* Effect.all(
          [
            messages.history(chat.id, 1, null, 3),
            messages.history(other.id, 1, null, 10),
            messages.history(chat.id, 2, null, 50),
            messages.history(chat.id, 1, null, 50),
            messages.history(chat.id, 3, null, 10)
          ],
          { concurrency: "unbounded" }
        )
        assert.deepStrictEqual(together.map(ids), [
          [m2.id, m4.id, m5.id],
          [o1.id],
          [m6.id],
          [m1.id, m2.id, m4.id, m5.id],
          []
        ])
      })
    )

    it.effect("each forum topic is its own history; the chat outside topics is another", () =>
      Effect.gen(function* () {
        const messages = yield* MessageRepository
        const { chat } = yield* botWithChat
        const write = (second: number, topicId: number | null) =>
          messages.insert(makeMessage(chat, { createdAt: at(second), text: `m${second}`, topicId }))
        const general = yield* write(1, null)
        const a1 = yield* write(2, 11)
        const b1 = yield* write(3, 22)
        const a2 = yield* write(4, 11)
        const stored = yield* messages.findById(a1.id)
        assert.strictEqual(stored.topicId, 11)

        assert.deepStrictEqual(ids(yield* messages.history(chat.id, 1, 11, 50)), [a1.id, a2.id])
        assert.deepStrictEqual(ids(yield* messages.history(chat.id, 1, 22, 50)), [b1.id])
        assert.deepStrictEqual(ids(yield* messages.history(chat.id, 1, null, 50)), [general.id])
        // Read at the same moment (one statement), each topic still gets only its own.
        const together = yield* Effect.all(
          [
            messages.history(chat.id, 1, 11, 1),
            messages.history(chat.id, 1, 22, 50),
            messages.history(chat.id, 1, null, 50),
            messages.history(chat.id, 1, 33, 50)
          ],
          { concurrency: "unbounded" }
        )
        assert.deepStrictEqual(together.map(ids), [[a2.id], [b1.id], [general.id], []])
      })
    )

    it.effect("a chat keeps each conversation's persona and topic thread", () =>
      Effect.gen(function* () {
        const chats = yield* ChatRepository
        const { chat } = yield* botWithChat
        assert.deepStrictEqual(chat.topics, {})
        const topics = { "0": { persona: "tutor" }, "11": { thread: 3, persona: "poet" } }
        yield* chats.update(new Chat({ ...chat, topics }))
        assert.deepStrictEqual((yield* chats.findById(chat.id)).topics, topics)
      })
    )

    it.effect(
      "a message replaced by /retry keeps its time and leaves the history, read alone or together",
      () =>
        Effect.gen(function* () {
          const messages = yield* MessageRepository
          const { chat } = yield* botWithChat
          const question = yield* messages.insert(makeMessage(chat, { createdAt: at(1), text: "q" }))
          const old = yield* messages.insert(makeMessage(chat, { createdAt: at(2), text: "a" }))
          yield* messages.update(MessageModel.replaced(old, at(3)))
          assert.deepStrictEqual((yield* messages.findById(old.id)).replacedAt, at(3))
          assert.deepStrictEqual(ids(yield* messages.history(chat.id, 1, null, 50)), [question.id])
          const together = yield* Effect.all(
            [messages.history(chat.id, 1, null, 50), messages.history(chat.id, 1, 5, 50)],
            { concurrency: "unbounded" }
          )
          assert.deepStrictEqual(together.map(ids), [[question.id], []])
        })
    )

    it.effect("a chat's messages are listed newest first across pages", () =>
      Effect.gen(function* () {
        const messages = yield* MessageRepository
        const { chat } = yield* botWithChat
        const stored: Array<Message> = []
        // Two share a time: the id decides between them.
        for (const second of [1, 2, 2, 3, 4]) {
          stored.push(yield* messages.insert(makeMessage(chat, { createdAt: at(second) })))
        }
        const expected = [...stored].sort(
          (a, b) => b.createdAt.getTime() - a.createdAt.getTime() || (a.id < b.id ? 1 : -1)
        )
        const pages = yield* allPages(2, (cursor) => messages.listByChat(chat.id, { limit: 2, cursor }))
        assert.deepStrictEqual(
          pages.map((page) => page.length),
          [2, 2, 1]
        )
        assert.deepStrictEqual(ids(pages.flat()), ids(expected))
      })
    )

    it.effect("failed messages are listed newest first, per bot or all", () =>
      Effect.gen(function* () {
        const messages = yield* MessageRepository
        const one = yield* botWithChat
        const two = yield* botWithChat
        const f1 = yield* messages.insert(
          makeMessage(one.chat, { role: "assistant", status: "failed", error: "x", createdAt: at(100) })
        )
        const f2 = yield* messages.insert(
          makeMessage(one.chat, { role: "admin", status: "failed", error: "y", createdAt: at(200) })
        )
        yield* messages.insert(
          makeMessage(one.chat, { role: "assistant", status: "sent", createdAt: at(300) })
        )
        const f3 = yield* messages.insert(
          makeMessage(two.chat, { role: "assistant", status: "failed", createdAt: at(150) })
        )

        const forOne = yield* allPages(1, (cursor) =>
          messages.listFailed({ botId: one.bot.id }, { limit: 1, cursor })
        )
        assert.deepStrictEqual(ids(forOne.flat()), [f2.id, f1.id])

        const all = (yield* messages.listFailed({}, { limit: 200 })).items
        const wanted = ids([f1, f2, f3])
        const mine = ids(all).filter((id) => wanted.includes(id))
        assert.deepStrictEqual(mine, [f2.id, f3.id, f1.id])
        assert.isTrue(all.every((message) => message.status === "failed"))
      })
    )

    it.effect("the outbox hands out due effects once, oldest first, and retries failures", () =>
      Effect.gen(function* () {
        const outbox = yield* EffectOutbox
        const botId = makeBot().id
        const effects: ReadonlyArray<DomainEffect> = [
          { _tag: "TelegramSetWebhook", botId, url: "https://example.com/telegram/webhook/x" },
          { _tag: "TelegramRemoveWebhook", botId },
          { _tag: "NotifyAdmins", botId, chatId: null, message: "stopped" }
        ]
        yield* outbox.enqueue(effects)
        yield* outbox.enqueue([])

        const firstTwo = yield* outbox.claimDue(2, 60)
        assert.deepStrictEqual(
          firstTwo.map((stored) => stored.effect),
          effects.slice(0, 2)
        )
        assert.deepStrictEqual(
          firstTwo.map((stored) => stored.attempts),
          [0, 0]
        )
        assert.isBelow(firstTwo[0]!.id, firstTwo[1]!.id)
        // Claimed ones are leased; only the third is still due.
        const rest = yield* outbox.claimDue(10, 60)
        assert.deepStrictEqual(
          rest.map((stored) => stored.effect),
          effects.slice(2)
        )
        assert.deepStrictEqual(yield* outbox.claimDue(10, 60), [])

        const [setWebhook, removeWebhook] = firstTwo
        yield* outbox.markDone(setWebhook!.id)
        yield* outbox.markFailed(removeWebhook!.id, "timeout", new Date(0))
        const retried = yield* outbox.claimDue(10, 60)
        assert.deepStrictEqual(
          retried.map((stored) => [stored.id, stored.attempts]),
          [[removeWebhook!.id, 1]]
        )

        yield* outbox.markFailed(removeWebhook!.id, "gave up", null)
        yield* outbox.markFailed(rest[0]!.id, "later", new Date(Date.UTC(2999, 0, 1)))
        // Neither a done nor a failed effect comes back, whatever is reported later.
        yield* outbox.markFailed(setWebhook!.id, "late report", new Date(0))
        yield* outbox.markFailed(removeWebhook!.id, "late report", new Date(0))
        assert.deepStrictEqual(yield* outbox.claimDue(10, 60), [])
      })
    )

    it.effect("an outbox lease that ran out lets the effect be claimed again", () =>
      Effect.gen(function* () {
        const outbox = yield* EffectOutbox
        const botId = makeBot().id
        yield* outbox.enqueue([{ _tag: "TelegramRemoveWebhook", botId }])
        const [claimed] = yield* outbox.claimDue(10, 0)
        assert.isDefined(claimed)
        const [again] = yield* outbox.claimDue(10, 0)
        assert.strictEqual(again?.id, claimed!.id)
        yield* outbox.markDone(claimed!.id)
        assert.deepStrictEqual(yield* outbox.claimDue(10, 0), [])
      })
    )
  })
