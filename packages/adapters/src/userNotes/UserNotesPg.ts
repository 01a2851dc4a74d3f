/** Notes in the `user_notes` table; the cap is checked in the insert itself. */
import { UserNotes } from "@botfleet/application"
import { type BotId, UserNote, type UserNoteId, UserNoteNotFound } from "@botfleet/domain"
import { Effect, Layer, Schema } from "effect"
import { SqlClient } from "effect/sql"

interface NoteRow {
  readonly id: string
  readonly bot_id: string
  /** bigint arrives as a string. */
  readonly tg_user_id: string | number
  readonly text: string
  readonly created_at: Date
}

const decodeNote = Schema.decodeUnknownEffect(UserNote)

/** A row the schema rejects is a defect: the database holds what we wrote. */
const fromRow = (row: NoteRow): Effect.Effect<UserNote> =>
  decodeNote({
    id: row.id,
    botId: row.bot_id,
    tgUserId: Number(row.tg_user_id),
    text: row.text,
    createdAt: row.created_at
  }).pipe(Effect.orDie)

export const layer: Layer.Layer<UserNotes, never, SqlClient.SqlClient> = Layer.effect(
  UserNotes,
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient

    // The per-user lock makes count-then-insert one step for concurrent turns of the same user.
    const add = Effect.fn("UserNotes.add")(function* (note: UserNote, cap: number) {
      return yield* sql
        .withTransaction(
          Effect.gen(function* () {
            yield* sql`SELECT pg_advisory_xact_lock(hashtext(${`user_notes:${note.botId}:${note.tgUserId}`}))`
            const inserted = yield* sql<{ id: string }>`
              INSERT INTO user_notes (id, bot_id, tg_user_id, text, created_at)
              SELECT ${note.id}, ${note.botId}, ${note.tgUserId}, ${note.text}, ${note.createdAt}
              WHERE (SELECT count(*) FROM user_notes
                     WHERE bot_id = ${note.botId} AND tg_user_id = ${note.tgUserId}) < ${cap}
              RETURNING id`
            return inserted.length > 0 ? ("added" as const) : ("full" as const)
          })
        )
        .pipe(Effect.orDie)
    })

    const list = Effect.fn("UserNotes.list")(function* (botId: BotId, tgUserId: number) {
      const rows = yield* sql<NoteRow>`
        SELECT * FROM user_notes WHERE bot_id = ${botId} AND tg_user_id = ${tgUserId}
        ORDER BY created_at, id`.pipe(Effect.orDie)
      return yield* Effect.forEach(rows, fromRow)
    })

    const remove = Effect.fn("UserNotes.remove")(function* (
      botId: BotId,
      tgUserId: number,
      noteId: UserNoteId
    ) {
      const rows = yield* sql<NoteRow>`
        DELETE FROM user_notes WHERE id = ${noteId} AND bot_id = ${botId} AND tg_user_id = ${tgUserId}
        RETURNING *`.pipe(Effect.orDie)
      const row = rows[0]
      if (row === undefined) return yield* new UserNoteNotFound({ noteId })
      return yield* fromRow(row)
    })

    const removeAll = Effect.fn("UserNotes.removeAll")(function* (botId: BotId, tgUserId: number) {
      const rows = yield* sql<{ id: string }>`
        DELETE FROM user_notes WHERE bot_id = ${botId} AND tg_user_id = ${tgUserId} RETURNING id`.pipe(
        Effect.orDie
      )
      return rows.length
    })

    return UserNotes.of({ add, list, remove, removeAll })
  })
)
