/**
 * remember / forget: notes about the sender of the turn's message, kept per
 * (bot, Telegram user). A turn without a sender (a channel post) keeps none;
 * forget reaches only the sender's own notes, whatever id the model gives.
 */

import { randomUUID } from "node:crypto"
import { NOTES_PER_USER, noteText, UserNote, UserNoteId } from "@botfleet/domain"
import { Clock, Effect, Schema } from "effect"
import type { UserNotes } from "../ports/UserNotes.ts"
import type { ToolFailure } from "./builtins.ts"
import { ToolTurn } from "./ToolTurn.ts"

const failure = (reason: string) => Effect.fail<ToolFailure>({ reason })

const NO_SENDER = "this message has no sender (a channel post): there is nobody to keep a note about"

const senderOf = Effect.map(ToolTurn, (turn) => ({ turn, userId: turn.incoming.tgUserId }))

export const remember = (notes: UserNotes["Service"]) =>
  Effect.fn("tool.remember")(function* (params: { readonly note: string }) {
    const { turn, userId } = yield* senderOf
    if (userId === null) return yield* failure(NO_SENDER)
    const text = noteText(params.note)
    if (text === "") return yield* failure("the note is empty")
    const note = new UserNote({
      id: UserNoteId.make(randomUUID()),
      botId: turn.bot.id,
      tgUserId: userId,
      text,
      createdAt: new Date(yield* Clock.currentTimeMillis)
    })
    const added = yield* notes.add(note, NOTES_PER_USER)
    if (added === "full") {
      return yield* failure(
        `you already keep ${NOTES_PER_USER} notes about this user: forget one that no longer matters first`
      )
    }
    return { noteId: note.id }
  })

const isNoteId = Schema.is(UserNoteId)

export const forget = (notes: UserNotes["Service"]) =>
  Effect.fn("tool.forget")(function* (params: { readonly noteId: string }) {
    const { turn, userId } = yield* senderOf
    if (userId === null) return yield* failure(NO_SENDER)
    const noteId = params.noteId.trim().toLowerCase()
    // Another user's note answers the same as no note: the model learns nothing about other users.
    if (!isNoteId(noteId)) return yield* failure(`no note ${params.noteId} about this user`)
    return yield* notes.remove(turn.bot.id, userId, noteId).pipe(
      Effect.as({ forgotten: true }),
      Effect.catchTag("UserNoteNotFound", () => failure(`no note ${params.noteId} about this user`))
    )
  })
