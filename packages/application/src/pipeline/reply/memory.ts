/**
 * /memory: the sender's notes (remember), numbered, with a Forget button per
 * note and one for all; a press comes back as `/memory forget <id|all>`. Only
 * in a private chat: in a group everyone would read them. The reply is stored
 * like any other, then sent here with its buttons; a rerun that finds it
 * stored sends the same text without buttons (/memory again shows them).
 */
import {
  type Bot,
  type BotTexts,
  type Chat,
  FORGET_ALL_DATA,
  forgetNoteData,
  type Message,
  memoryTexts,
  readMemoryRequest,
  type UserNote
} from "@botfleet/domain"
import { Effect } from "effect"
import type { InlineButton, Token } from "../../ports/TelegramGateway.ts"
import { UserNotes } from "../../ports/UserNotes.ts"
import { SendReply } from "../sendReply.ts"
import type { StoreReply } from "./store.ts"

/** Telegram shows up to 8 buttons a row; 5 keep "Forget 50" readable on a phone. */
const BUTTONS_PER_ROW = 5

type MemoryTexts = ReturnType<typeof memoryTexts>

const listing = (notes: ReadonlyArray<UserNote>, texts: MemoryTexts): string =>
  notes.length === 0
    ? texts.empty
    : [texts.heading, "", ...notes.map((note, index) => `${index + 1}. ${note.text}`), "", texts.hint].join(
        "\n"
      )

const keyboard = (
  notes: ReadonlyArray<UserNote>,
  texts: MemoryTexts
): ReadonlyArray<ReadonlyArray<InlineButton>> => {
  if (notes.length === 0) return []
  const rows: Array<Array<InlineButton>> = []
  notes.forEach((note, index) => {
    if (index % BUTTONS_PER_ROW === 0) rows.push([])
    rows[rows.length - 1]!.push({ text: texts.forgetButton(index + 1), data: forgetNoteData(note.id) })
  })
  rows.push([{ text: texts.forgetAllButton, data: FORGET_ALL_DATA }])
  return rows
}

export const makeShowMemory = (store: StoreReply) =>
  Effect.gen(function* () {
    const notes = yield* UserNotes
    const sendReply = yield* SendReply

    return Effect.fn("Pipeline.showMemory")(function* (
      bot: Bot,
      token: Token,
      chat: Chat,
      incoming: Message,
      text: string,
      language: BotTexts
    ) {
      const texts = memoryTexts(language)
      const userId = incoming.tgUserId
      if (chat.type !== "private" || userId === null) return yield* store.answer(incoming, texts.privateOnly)
      const request = readMemoryRequest(text)
      let done: string | null = null
      if (request._tag === "ForgetAll") {
        done = texts.forgotAll(yield* notes.removeAll(bot.id, userId))
      } else if (request._tag === "ForgetOne") {
        done = yield* notes.remove(bot.id, userId, request.noteId).pipe(
          Effect.map((note) => texts.forgotOne(note.text)),
          Effect.catchTag("UserNoteNotFound", () => Effect.succeed(texts.alreadyGone))
        )
      }
      const left = yield* notes.list(bot.id, userId)
      // After "forget all" the empty list says nothing new.
      const body = request._tag === "ForgetAll" ? null : listing(left, texts)
      const reply = yield* store.answer(incoming, [done, body].filter((part) => part !== null).join("\n\n"))
      const buttons = keyboard(left, texts)
      return yield* sendReply.send(
        bot,
        token,
        chat,
        reply,
        "pace",
        buttons.length === 0 ? undefined : buttons
      )
    })
  })
