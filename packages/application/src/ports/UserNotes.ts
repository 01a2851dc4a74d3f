/** The notes a bot keeps about each of its users (`remember`), scoped to one (bot, Telegram user). */
import type { BotId, UserNote, UserNoteId, UserNoteNotFound } from "@botfleet/domain"
import { Context, type Effect } from "effect"

export class UserNotes extends Context.Service<
  UserNotes,
  {
    /**
     * Keeps the note unless its user already has `cap` notes with the bot:
     * then nothing is stored and "full" comes back, decided in one step so
     * two turns at once cannot both pass the cap.
     */
    readonly add: (note: UserNote, cap: number) => Effect.Effect<"added" | "full">
    /** The user's notes with the bot, oldest first. */
    readonly list: (botId: BotId, tgUserId: number) => Effect.Effect<ReadonlyArray<UserNote>>
    /** Deletes one of the user's own notes; another user's (or bot's) id is not found. */
    readonly remove: (
      botId: BotId,
      tgUserId: number,
      noteId: UserNoteId
    ) => Effect.Effect<UserNote, UserNoteNotFound>
    /** Deletes all the user's notes with the bot; how many there were. */
    readonly removeAll: (botId: BotId, tgUserId: number) => Effect.Effect<number>
  }
>()("@botfleet/application/UserNotes") {}
