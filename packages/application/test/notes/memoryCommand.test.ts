/**
 * /memory on memory twins: the sender's notes listed with a Forget button per
 * note and one for all; a press forgets the sender's own note only (a forged
 * press with another user's id forgets nothing); in a group it lists nothing.
 */
import { TelegramGatewayMemory } from "@botfleet/adapters"
import { UserNotes } from "@botfleet/application"
import {
  type Bot,
  englishTexts,
  memoryTexts as memoryTextsIn,
  TelegramUserId,
  UserNote,
  UserNoteId
} from "@botfleet/domain"
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { addBot, CHAT_ID, callbackUpdate, harness, processUpdate, textUpdate, USER } from "../harness.ts"

const { TelegramMemoryLog } = TelegramGatewayMemory
const memoryTexts = memoryTextsIn(englishTexts)

const keep = (bot: Bot, tgUserId: number, text: string, at: number) =>
  Effect.gen(function* () {
    const note = new UserNote({
      id: UserNoteId.make(crypto.randomUUID()),
      botId: bot.id,
      tgUserId: TelegramUserId.make(tgUserId),
      text,
      createdAt: new Date(at)
    })
    assert.strictEqual(yield* UserNotes.use((notes) => notes.add(note, 50)), "added")
    return note
  })

const lastSent = TelegramMemoryLog.use((log) =>
  Effect.map(log.sentMessages, (sent) => sent[sent.length - 1]!)
)
const buttonData = (message: {
  readonly buttons?: ReadonlyArray<ReadonlyArray<{ readonly data: string }>>
}) => (message.buttons ?? []).flat().map((button) => button.data)
const textsOf = (bot: Bot, userId: number) =>
  UserNotes.use((notes) => notes.list(bot.id, userId)).pipe(Effect.map((kept) => kept.map((n) => n.text)))

describe("/memory", () => {
  it.effect("lists the sender's notes with a Forget button each and one for all", () =>
    Effect.gen(function* () {
      const { bot } = yield* addBot()
      const first = yield* keep(bot, CHAT_ID, "Prefers French", 1_000)
      const second = yield* keep(bot, CHAT_ID, "Has a cat named Tom", 2_000)
      yield* keep(bot, 42, "someone else's note", 3_000)
      yield* processUpdate(bot, textUpdate(1, "/memory"))
      const listed = yield* lastSent
      assert.include(listed.text, memoryTexts.heading)
      assert.include(listed.text, "1. Prefers French\n2. Has a cat named Tom")
      assert.notInclude(listed.text, "someone else's note")
      assert.deepStrictEqual(buttonData(listed), [
        `memory forget ${first.id}`,
        `memory forget ${second.id}`,
        "memory forget all"
      ])
      for (const data of buttonData(listed)) assert.isAtMost(Buffer.byteLength(data), 64)
    }).pipe(Effect.provide(harness()))
  )

  it.effect("a Forget press forgets that note, answers the press and lists the rest", () =>
    Effect.gen(function* () {
      const { bot } = yield* addBot()
      const first = yield* keep(bot, CHAT_ID, "Prefers French", 1_000)
      const second = yield* keep(bot, CHAT_ID, "Has a cat named Tom", 2_000)
      yield* processUpdate(bot, callbackUpdate(1, `memory forget ${first.id}`))
      const answered = yield* TelegramMemoryLog.use((log) => log.callbackAnswers)
      assert.deepStrictEqual(
        answered.map((answer) => answer.callbackQueryId),
        ["callback-1"]
      )
      const reply = yield* lastSent
      assert.include(reply.text, memoryTexts.forgotOne("Prefers French"))
      assert.include(reply.text, "1. Has a cat named Tom")
      assert.deepStrictEqual(buttonData(reply), [`memory forget ${second.id}`, "memory forget all"])
      assert.deepStrictEqual(yield* textsOf(bot, CHAT_ID), ["Has a cat named Tom"])
    }).pipe(Effect.provide(harness()))
  )

  it.effect("a forged press with another user's note id forgets nothing", () =>
    Effect.gen(function* () {
      const { bot } = yield* addBot()
      const theirs = yield* keep(bot, 42, "someone else's note", 1_000)
      yield* processUpdate(bot, callbackUpdate(1, `memory forget ${theirs.id}`))
      assert.include((yield* lastSent).text, memoryTexts.alreadyGone)
      assert.deepStrictEqual(yield* textsOf(bot, 42), ["someone else's note"])
    }).pipe(Effect.provide(harness()))
  )

  it.effect("Forget all empties the sender's notes only, and shows no buttons", () =>
    Effect.gen(function* () {
      const { bot } = yield* addBot()
      yield* keep(bot, CHAT_ID, "Prefers French", 1_000)
      yield* keep(bot, CHAT_ID, "Has a cat named Tom", 2_000)
      yield* keep(bot, 42, "someone else's note", 3_000)
      yield* processUpdate(bot, callbackUpdate(1, "memory forget all"))
      const reply = yield* lastSent
      assert.strictEqual(reply.text, memoryTexts.forgotAll(2))
      assert.isUndefined(reply.buttons)
      assert.deepStrictEqual(yield* textsOf(bot, CHAT_ID), [])
      assert.deepStrictEqual(yield* textsOf(bot, 42), ["someone else's note"])
      yield* processUpdate(bot, textUpdate(2, "/memory"))
      assert.strictEqual((yield* lastSent).text, memoryTexts.empty)
    }).pipe(Effect.provide(harness()))
  )

  it.effect("in a group it lists nothing and points to the private chat", () =>
    Effect.gen(function* () {
      const { bot } = yield* addBot()
      yield* keep(bot, CHAT_ID, "Prefers French", 1_000)
      yield* processUpdate(bot, {
        update_id: 1,
        message: {
          message_id: 1,
          date: 1_700_000_000,
          chat: { id: -1_001, type: "group", title: "Friends" },
          from: USER,
          text: "/memory"
        }
      })
      const reply = yield* lastSent
      assert.strictEqual(reply.chatId, -1_001)
      assert.strictEqual(reply.text, memoryTexts.privateOnly)
      assert.isUndefined(reply.buttons)
    }).pipe(Effect.provide(harness()))
  )
})
