/** A bot's users with their use, blocking and their notes: thin over BotUsers, BotService and UserNotesAdmin. */
import { BotService, BotUsers, ProviderService, Settings, UserNotesAdmin } from "@botfleet/application"
import { BotId, UserCursor, UserNoteId } from "@botfleet/domain"
import { Effect } from "effect"
import { HttpApiBuilder } from "effect/http-api"
import { Api } from "../Api.ts"
import { answerErrors } from "../ApiErrors.ts"
import { toBotView } from "../views.ts"
import { pageOf } from "./pagination.ts"

export const BotUsersHandlers = HttpApiBuilder.group(
  Api,
  "botUsers",
  Effect.fn(function* (handlers) {
    const users = yield* BotUsers
    const bots = yield* BotService
    const settings = yield* Settings
    const providers = yield* ProviderService
    const notes = yield* UserNotesAdmin

    const setBlocked = (params: { readonly id: string; readonly userId: number }, blocked: boolean) =>
      bots.setBlocked(BotId.make(params.id), params.userId, blocked).pipe(
        Effect.flatMap((bot) =>
          Effect.map(providers.defaultModels, (models) => toBotView(bot, settings, models))
        ),
        answerErrors
      )

    return handlers
      .handle("list", ({ params, query }) =>
        pageOf(query, UserCursor).pipe(
          Effect.flatMap((page) => users.list(BotId.make(params.id), page)),
          answerErrors
        )
      )
      .handle("block", ({ params }) => setBlocked(params, true))
      .handle("unblock", ({ params }) => setBlocked(params, false))
      .handle("notes", ({ params }) =>
        notes.list(BotId.make(params.id), params.userId).pipe(
          Effect.map((kept) =>
            kept.map((note) => ({ id: note.id, text: note.text, createdAt: note.createdAt.toISOString() }))
          ),
          answerErrors
        )
      )
      .handle("removeNote", ({ params }) =>
        notes
          .remove(BotId.make(params.id), params.userId, UserNoteId.make(params.noteId))
          .pipe(Effect.asVoid, answerErrors)
      )
  })
)
