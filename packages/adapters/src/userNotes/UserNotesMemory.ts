/** The in-memory twin of UserNotesPg: the same scoping, cap and order. */
import { UserNotes } from "@botfleet/application"
import { type BotId, type UserNote, type UserNoteId, UserNoteNotFound } from "@botfleet/domain"
import { Effect, Layer, Ref } from "effect"
import { compareIds } from "../memory/MemoryStore.ts"

type Notes = ReadonlyMap<string, UserNote>

const ownedBy = (note: UserNote, botId: BotId, tgUserId: number) =>
  note.botId === botId && note.tgUserId === tgUserId

const oldestFirst = (a: UserNote, b: UserNote) =>
  a.createdAt.getTime() - b.createdAt.getTime() || compareIds(a.id, b.id)

export const layerMemory: Layer.Layer<UserNotes> = Layer.effect(
  UserNotes,
  Effect.gen(function* () {
    const store = yield* Ref.make<Notes>(new Map())

    const add = Effect.fn("UserNotes.add")(function* (note: UserNote, cap: number) {
      return yield* Ref.modify(store, (notes): ["added" | "full", Notes] => {
        const count = [...notes.values()].filter((kept) => ownedBy(kept, note.botId, note.tgUserId)).length
        if (count >= cap) return ["full", notes]
        return ["added", new Map(notes).set(note.id, note)]
      })
    })

    const list = Effect.fn("UserNotes.list")(function* (botId: BotId, tgUserId: number) {
      const notes = yield* Ref.get(store)
      return [...notes.values()].filter((note) => ownedBy(note, botId, tgUserId)).sort(oldestFirst)
    })

    const remove = Effect.fn("UserNotes.remove")(function* (
      botId: BotId,
      tgUserId: number,
      noteId: UserNoteId
    ) {
      return yield* yield* Ref.modify(store, (notes): [Effect.Effect<UserNote, UserNoteNotFound>, Notes] => {
        const note = notes.get(noteId)
        if (note === undefined || !ownedBy(note, botId, tgUserId)) {
          return [Effect.fail(new UserNoteNotFound({ noteId })), notes]
        }
        const next = new Map(notes)
        next.delete(noteId)
        return [Effect.succeed(note), next]
      })
    })

    const removeAll = Effect.fn("UserNotes.removeAll")(function* (botId: BotId, tgUserId: number) {
      return yield* Ref.modify(store, (notes): [number, Notes] => {
        const next = new Map([...notes].filter(([, note]) => !ownedBy(note, botId, tgUserId)))
        return [notes.size - next.size, next]
      })
    })

    return UserNotes.of({ add, list, remove, removeAll })
  })
)
