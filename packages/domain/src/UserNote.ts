/**
 * Notes a bot keeps about one of its users (the `remember` tool), read back to
 * the model in that user's private chats and listed to the user with /memory.
 * A note belongs to one (bot, Telegram user): nothing reads across the pair.
 */

import { Schema } from "effect"
import { BotId, TelegramUserId } from "./ids.ts"
import { storableText } from "./text.ts"
import type { BotTexts } from "./texts/botTexts.ts"

export const UserNoteId = Schema.String.check(Schema.isUUID()).pipe(Schema.brand("UserNoteId"))
export type UserNoteId = typeof UserNoteId.Type

/** A note is a fact or a preference, not a document. */
export const NOTE_MAX_CHARS = 500
/** Per (bot, user): past this `remember` is refused and the model told to forget one first. */
export const NOTES_PER_USER = 50

export class UserNote extends Schema.Class<UserNote>("UserNote")({
  id: UserNoteId,
  botId: BotId,
  tgUserId: TelegramUserId,
  text: Schema.String,
  createdAt: Schema.Date
}) {}

/** A note's text as stored: trimmed, storable (a model may write NUL), at most NOTE_MAX_CHARS. */
export const noteText = (text: string): string => storableText(text.trim()).slice(0, NOTE_MAX_CHARS)

/** The system message that tells the model what it kept about the sender; null without notes. */
export const notesPrompt = (notes: ReadonlyArray<UserNote>): string | null =>
  notes.length === 0
    ? null
    : [
        "What you know about this user (notes you kept with remember; forget takes the id):",
        ...notes.map((note) => `- [${note.id}] ${note.text}`)
      ].join("\n")

export class UserNoteNotFound extends Schema.TaggedError<UserNoteNotFound>()("UserNoteNotFound", {
  noteId: Schema.String
}) {
  override get message() {
    return `note ${this.noteId} not found for this user of this bot`
  }
}

/** The admin asked about a Telegram user who never wrote to the bot. */
export class BotUserNotFound extends Schema.TaggedError<BotUserNotFound>()("BotUserNotFound", {
  botId: Schema.String,
  userId: Schema.Number
}) {
  override get message() {
    return `user ${this.userId} has not talked to bot ${this.botId}`
  }
}

/** What /memory says, in one place (a language catalogue can take them over whole). */
export const memoryTexts = (texts: BotTexts) => ({
  heading: texts.text("memory.title"),
  hint: texts.text("memory.hint"),
  empty: texts.text("memory.empty"),
  privateOnly: texts.text("memory.privateOnly"),
  forgotOne: (note: string) => texts.text("memory.forgotten", { note }),
  alreadyGone: texts.text("memory.alreadyGone"),
  forgotAll: (count: number) =>
    count === 0
      ? texts.text("memory.nothingToForget")
      : texts.text("memory.forgotAll", { count: String(count) }),
  forgetButton: (position: number) => texts.text("memory.forget", { number: String(position) }),
  forgetAllButton: texts.text("memory.forgetAll")
})

/** What a /memory message asks: list, forget one note, or forget them all. */
export type MemoryRequest =
  | { readonly _tag: "List" }
  | { readonly _tag: "ForgetOne"; readonly noteId: UserNoteId }
  | { readonly _tag: "ForgetAll" }

const isNoteId = Schema.is(UserNoteId)

/**
 * `/memory`, `/memory forget all`, `/memory forget <id>` (what the buttons
 * send back); anything else lists. Button data is at most 64 bytes: "memory
 * forget " and a UUID are 50.
 */
export const readMemoryRequest = (text: string): MemoryRequest => {
  const [, verb, target] = text.trim().split(/\s+/)
  if (verb?.toLowerCase() !== "forget" || target === undefined) return { _tag: "List" }
  if (target.toLowerCase() === "all") return { _tag: "ForgetAll" }
  const id = target.toLowerCase()
  return isNoteId(id) ? { _tag: "ForgetOne", noteId: id } : { _tag: "List" }
}

export const forgetNoteData = (noteId: UserNoteId) => `memory forget ${noteId}`
export const FORGET_ALL_DATA = "memory forget all"
