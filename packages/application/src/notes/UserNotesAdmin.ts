/**
 * Admins' view of the notes a bot keeps about one of its users: list and
 * delete. A bot that does not exist, a user who never wrote to it and a note
 * of another user (or bot) are each their own "not found".
 */

import type { BotNotFound, UserNoteNotFound } from "@botfleet/domain"
import { type BotId, BotUserNotFound, type UserNote, type UserNoteId } from "@botfleet/domain"
import { Context, Effect, Layer } from "effect"
import { BotRepository, ChatRepository } from "../ports/Repositories.ts"
import { UserNotes } from "../ports/UserNotes.ts"

export class UserNotesAdmin extends Context.Service<
  UserNotesAdmin,
  {
    readonly list: (
      botId: BotId,
      userId: number
    ) => Effect.Effect<ReadonlyArray<UserNote>, BotNotFound | BotUserNotFound>
    readonly remove: (
      botId: BotId,
      userId: number,
      noteId: UserNoteId
    ) => Effect.Effect<UserNote, BotNotFound | BotUserNotFound | UserNoteNotFound>
  }
>()("@botfleet/application/UserNotesAdmin") {
  static readonly layer = Layer.effect(
    UserNotesAdmin,
    Effect.gen(function* () {
      const bots = yield* BotRepository
      const chats = yield* ChatRepository
      const notes = yield* UserNotes

      /**
       * The user has a private chat with the bot, or notes with it (kept from
       * a group, where chats name no user).
       */
      const mustKnow = Effect.fn("UserNotesAdmin.mustKnow")(function* (botId: BotId, userId: number) {
        const page = yield* chats.list({ botId, tgUserId: userId }, { limit: 1 })
        if (page.items.length > 0 || (yield* notes.list(botId, userId)).length > 0) return
        return yield* new BotUserNotFound({ botId, userId })
      })

      const list = Effect.fn("UserNotesAdmin.list")(function* (botId: BotId, userId: number) {
        yield* bots.findById(botId)
        const kept = yield* notes.list(botId, userId)
        if (kept.length === 0) yield* mustKnow(botId, userId)
        return kept
      })

      const remove = Effect.fn("UserNotesAdmin.remove")(function* (
        botId: BotId,
        userId: number,
        noteId: UserNoteId
      ) {
        yield* bots.findById(botId)
        return yield* notes.remove(botId, userId, noteId).pipe(Effect.tapError(() => mustKnow(botId, userId)))
      })

      return UserNotesAdmin.of({ list, remove })
    })
  )
}
