/**
 * remember and forget through the toolkit, as the turn loop calls them: by
 * name, with ToolTurn provided. Notes are the sender's own (another user's
 * id is "no note"), capped per user with the model told why, refused
 * without a sender; the sender's notes reach the model in a private chat.
 */
import { LanguageModelMemory, PageTextReadability } from "@botfleet/adapters"
import {
  BuiltinToolkit,
  BuiltinToolkitLive,
  ImageGenerator,
  OutboundHttp,
  ToolTurn,
  UrlNotAllowed,
  UserNotes
} from "@botfleet/application"
import { Message, NOTES_PER_USER, TelegramUserId } from "@botfleet/domain"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Layer, Option, Stream } from "effect"
import { addBot, CHAT_ID, chatOf, harness, messagesOf, processUpdate, textUpdate } from "../harness.ts"

const refusingOutbound = Layer.succeed(
  OutboundHttp,
  OutboundHttp.of({
    checkUrl: () => Effect.fail(new UrlNotAllowed({ rule: "test" })),
    request: () => Effect.fail(new UrlNotAllowed({ rule: "test" })),
    open: () => Effect.fail(new UrlNotAllowed({ rule: "test" }))
  })
)

/** These tests draw nothing. */
const noImages = Layer.succeed(
  ImageGenerator,
  ImageGenerator.of({ generate: () => Effect.die("not called") })
)

const setup = () =>
  BuiltinToolkitLive.pipe(
    Layer.provideMerge(Layer.mergeAll(refusingOutbound, PageTextReadability.layer, noImages)),
    Layer.provideMerge(harness())
  )

/** A bot, and the turn of Ada's first message in her private chat. */
const firstTurn = Effect.gen(function* () {
  const { bot, token } = yield* addBot()
  yield* processUpdate(bot, textUpdate(1, "hello"))
  const chat = Option.getOrThrow(yield* chatOf(bot))
  const incoming = (yield* messagesOf(bot)).find((message) => message.role === "user")!
  return { bot, token, chat, incoming }
})

type Turn = Effect.Success<typeof firstTurn>

const asUser = (turn: Turn, tgUserId: number | null): Turn => ({
  ...turn,
  incoming: new Message({
    ...turn.incoming,
    tgUserId: tgUserId === null ? null : TelegramUserId.make(tgUserId)
  })
})

/** One tool call as the loop makes it; its one result (failures returned, not raised). */
const call = (turn: Turn, name: "remember" | "forget", params: Record<string, string>) =>
  Effect.gen(function* () {
    const toolkit = yield* BuiltinToolkit
    const results = yield* toolkit.handle(name, params as never).pipe(Effect.flatMap(Stream.runCollect))
    const last = results[results.length - 1]!
    return { isFailure: last.isFailure, result: last.result as Record<string, unknown> }
  }).pipe(Effect.provideService(ToolTurn, ToolTurn.of({ ...turn, spend: () => Effect.void })))

const notesOf = (turn: Turn, userId: number) =>
  UserNotes.use((notes) => notes.list(turn.bot.id, userId)).pipe(
    Effect.map((kept) => kept.map((n) => n.text))
  )

describe("remember / forget", () => {
  it.effect("keeps a note about the sender and forgets it by id", () =>
    Effect.gen(function* () {
      const turn = yield* firstTurn
      const kept = yield* call(turn, "remember", { note: "  Prefers answers in French  " })
      assert.isFalse(kept.isFailure)
      assert.deepStrictEqual(yield* notesOf(turn, CHAT_ID), ["Prefers answers in French"])
      const gone = yield* call(turn, "forget", { noteId: String(kept.result.noteId) })
      assert.deepStrictEqual(gone, { isFailure: false, result: { forgotten: true } })
      assert.deepStrictEqual(yield* notesOf(turn, CHAT_ID), [])
      const again = yield* call(turn, "forget", { noteId: String(kept.result.noteId) })
      assert.isTrue(again.isFailure)
    }).pipe(Effect.provide(setup()))
  )

  it.effect("forget never reaches another user's note, and says only 'no note'", () =>
    Effect.gen(function* () {
      const turn = yield* firstTurn
      const other = asUser(turn, 42)
      const theirs = yield* call(other, "remember", { note: "Allergic to nuts" })
      const attempt = yield* call(turn, "forget", { noteId: String(theirs.result.noteId) })
      assert.isTrue(attempt.isFailure)
      assert.include(String(attempt.result.reason), "no note")
      assert.deepStrictEqual(yield* notesOf(turn, 42), ["Allergic to nuts"])
      const garbage = yield* call(turn, "forget", { noteId: "'; DROP TABLE user_notes; --" })
      assert.isTrue(garbage.isFailure)
    }).pipe(Effect.provide(setup()))
  )

  it.effect("past the cap the note is refused and the model told to forget one", () =>
    Effect.gen(function* () {
      const turn = yield* firstTurn
      for (let i = 0; i < NOTES_PER_USER; i++) {
        assert.isFalse((yield* call(turn, "remember", { note: `fact ${i}` })).isFailure)
      }
      const over = yield* call(turn, "remember", { note: "one too many" })
      assert.isTrue(over.isFailure)
      assert.include(String(over.result.reason), "forget one")
      const kept = yield* notesOf(turn, CHAT_ID)
      assert.strictEqual(kept.length, NOTES_PER_USER)
      assert.notInclude(kept, "one too many")
      // Another user's cap is their own.
      assert.isFalse((yield* call(asUser(turn, 42), "remember", { note: "mine" })).isFailure)
    }).pipe(Effect.provide(setup()))
  )

  it.effect("without a sender (a channel post) nothing is kept", () =>
    Effect.gen(function* () {
      const turn = asUser(yield* firstTurn, null)
      const refused = yield* call(turn, "remember", { note: "a channel fact" })
      assert.isTrue(refused.isFailure)
      assert.include(String(refused.result.reason), "no sender")
      assert.isTrue((yield* call(turn, "forget", { noteId: crypto.randomUUID() })).isFailure)
    }).pipe(Effect.provide(setup()))
  )

  it.effect("the sender's notes reach the model in the private chat, after the system prompt", () =>
    Effect.gen(function* () {
      const turn = yield* firstTurn
      yield* call(turn, "remember", { note: "Name is Ada" })
      yield* call(asUser(turn, 42), "remember", { note: "someone else's secret" })
      yield* processUpdate(turn.bot, textUpdate(2, "who am I?"))
      const requests = yield* LanguageModelMemory.LanguageModelMemoryControl.use(
        (control) => control.requests
      )
      const last = requests[requests.length - 1]!
      const system = last.messages.filter((m) => m.role === "system").map((m) => String(m.content))
      const notes = system.find((text) => text.startsWith("What you know about this user"))
      assert.isDefined(notes)
      assert.include(notes!, "Name is Ada")
      assert.notInclude(notes!, "someone else's secret")
      assert.strictEqual(
        last.messages.findIndex((m) => m.role !== "system"),
        system.length
      )
    }).pipe(Effect.provide(setup()))
  )
})
