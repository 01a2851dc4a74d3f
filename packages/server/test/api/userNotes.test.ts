/**
 * The notes a bot keeps about its users, through the admin API on the real
 * server and PostgreSQL: listed per (bot, user), deleted one by one; an
 * unknown bot, user or note is a 404 saying which, and a note of the same
 * user with another bot cannot be deleted through this bot. The PostgreSQL
 * adapter's cap is checked in its insert.
 */
import { UserNotesPg } from "@botfleet/adapters"
import { UserNotes } from "@botfleet/application"
import { type BotId, TelegramUserId, UserNote, UserNoteId } from "@botfleet/domain"
import { assert, layer } from "@effect/vitest"
import { Effect, Layer, Schema } from "effect"
import { SqlClient } from "effect/sql"
import { UserNoteView } from "../../src/api/schemas.ts"
import { expectBody, expectError, loggedIn, unknownId, withAdmin } from "../support/apiClient.ts"
import {
  postUpdate,
  layer as serverLayer,
  settled,
  TestServer,
  textUpdate
} from "../support/inProcessServer.ts"

const Notes = Schema.Array(UserNoteView)
const USER = 931_001

/** Notes written as the remember tool writes them: the PostgreSQL adapter on the server's database. */
const withNotes = <A, E>(use: (notes: UserNotes["Service"]) => Effect.Effect<A, E>) =>
  Effect.gen(function* () {
    const server = yield* TestServer
    return yield* UserNotes.use(use).pipe(
      Effect.provide(UserNotesPg.layer.pipe(Layer.provide(Layer.succeed(SqlClient.SqlClient, server.sql))))
    )
  })

const noteOf = (botId: BotId, tgUserId: number, text: string, at: number) =>
  new UserNote({
    id: UserNoteId.make(crypto.randomUUID()),
    botId,
    tgUserId: TelegramUserId.make(tgUserId),
    text,
    createdAt: new Date(at)
  })

layer(serverLayer(withAdmin()), { timeout: 60_000, excludeTestServices: true })("user notes API", (it) => {
  it.effect("lists a user's notes, deletes one; unknown ids and another bot's note are 404s", () =>
    Effect.gen(function* () {
      const server = yield* TestServer
      const api = yield* loggedIn(server.baseUrl)
      const { bot } = yield* server.addBot("Notes")
      const { bot: other } = yield* server.addBot("OtherNotes")
      yield* postUpdate(server.baseUrl, bot, textUpdate(USER, "hello"))
      yield* settled(server, bot.id)

      const first = noteOf(bot.id, USER, "Prefers French", Date.UTC(2026, 0, 1))
      const second = noteOf(bot.id, USER, "Has a cat", Date.UTC(2026, 0, 2))
      const elsewhere = noteOf(other.id, USER, "Other bot's note", Date.UTC(2026, 0, 3))
      yield* withNotes((notes) =>
        Effect.forEach([first, second, elsewhere], (note) => notes.add(note, 50), { discard: true })
      )

      const base = `/api/bots/${bot.id}/users/${USER}/notes`
      const listed = expectBody(yield* api.get(base), 200, Notes)
      assert.deepStrictEqual(listed, [
        { id: first.id, text: "Prefers French", createdAt: "2026-01-01T00:00:00.000Z" },
        { id: second.id, text: "Has a cat", createdAt: "2026-01-02T00:00:00.000Z" }
      ])

      assert.include(
        expectError(yield* api.get(`/api/bots/${unknownId}/users/${USER}/notes`), 404, "bot_not_found"),
        unknownId
      )
      assert.include(
        expectError(yield* api.get(`/api/bots/${bot.id}/users/999999/notes`), 404, "user_not_found"),
        "999999"
      )
      // The same user's note with another bot is not this bot's to delete.
      assert.include(
        expectError(yield* api.delete(`${base}/${elsewhere.id}`), 404, "note_not_found"),
        elsewhere.id
      )
      expectError(yield* api.delete(`${base}/${unknownId}`), 404, "note_not_found")
      expectError(
        yield* api.delete(`/api/bots/${bot.id}/users/999999/notes/${first.id}`),
        404,
        "user_not_found"
      )
      assert.strictEqual((yield* api.delete(`${base}/not-a-uuid`)).status, 400)

      assert.strictEqual((yield* api.delete(`${base}/${first.id}`)).status, 204)
      assert.deepStrictEqual(
        expectBody(yield* api.get(base), 200, Notes).map((note) => note.id),
        [second.id]
      )
      expectError(yield* api.delete(`${base}/${first.id}`), 404, "note_not_found")
      // Known by its notes with the other bot alone (no private chat there): listed, still there.
      assert.deepStrictEqual(
        expectBody(yield* api.get(`/api/bots/${other.id}/users/${USER}/notes`), 200, Notes).map(
          (n) => n.text
        ),
        ["Other bot's note"]
      )
    })
  )

  it.effect("the PostgreSQL store refuses past the cap, per (bot, user)", () =>
    Effect.gen(function* () {
      const server = yield* TestServer
      const { bot } = yield* server.addBot("Capped")
      const outcomes = yield* withNotes((notes) =>
        Effect.forEach([1, 2, 3], (n) => notes.add(noteOf(bot.id, 932_001, `fact ${n}`, n * 1000), 2))
      )
      assert.deepStrictEqual(outcomes, ["added", "added", "full"])
      const another = yield* withNotes((notes) => notes.add(noteOf(bot.id, 932_002, "mine", 5000), 2))
      assert.strictEqual(another, "added")
      const kept = yield* withNotes((notes) => notes.list(bot.id, 932_001))
      assert.deepStrictEqual(
        kept.map((note) => note.text),
        ["fact 1", "fact 2"]
      )
    })
  )
})
