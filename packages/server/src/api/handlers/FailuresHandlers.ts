/** Failures of every kind (messages, inbox updates, outbox effects): list them and retry them. */
import { ConversationService, FailureService } from "@botfleet/application"
import { BotId, FailureCursor, MessageId, SerialCursor } from "@botfleet/domain"
import { Effect } from "effect"
import { HttpApiBuilder } from "effect/http-api"
import { Api } from "../Api.ts"
import { answerErrors } from "../ApiErrors.ts"
import type { FailureView } from "../schemas.ts"
import { toFailedUpdateView, toFailureView, toMessageView } from "../views.ts"
import { pageOf } from "./pagination.ts"

export const FailuresHandlers = HttpApiBuilder.group(
  Api,
  "failures",
  Effect.fn(function* (handlers) {
    const conversations = yield* ConversationService
    const failures = yield* FailureService
    return handlers
      .handle(
        "list",
        Effect.fn(function* ({ query }) {
          const page = yield* pageOf(query, FailureCursor)
          const found = yield* failures.list({ botId: query.botId, kind: query.kind }, page)
          return { items: found.items.map(toFailureView), nextCursor: found.nextCursor }
        })
      )
      .handle(
        "updates",
        Effect.fn(function* ({ query }) {
          const page = yield* pageOf(query, SerialCursor)
          const found = yield* conversations.listFailedUpdates(
            { botId: query.botId === undefined ? undefined : BotId.make(query.botId) },
            page
          )
          return { items: found.items.map(toFailedUpdateView), nextCursor: found.nextCursor }
        })
      )
      .handle("retryAny", ({ params }) =>
        failures.retry(params.id).pipe(
          Effect.as({
            id: params.id,
            kind: params.id.split(":")[0] as FailureView["kind"],
            status: "queued" as const
          }),
          answerErrors
        )
      )
      .handle("retry", ({ params }) =>
        conversations.retry(MessageId.make(params.id)).pipe(Effect.map(toMessageView), answerErrors)
      )
  })
)
