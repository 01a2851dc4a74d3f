/** Chats and their messages; an admin answers as the bot (202: delivery is queued). */
import { ConversationService, FailureService } from "@botfleet/application"
import { BotId, ChatId, FailureCursor, MessageId, SerialCursor } from "@botfleet/domain"
import { Effect } from "effect"
import { HttpApiBuilder } from "effect/http-api"
import { Api } from "../Api.ts"
import { Conflict, error, NotFound } from "../ApiErrors.ts"
import type { FailureView } from "../ops/schemas.ts"
import { toFailureView } from "../ops/views.ts"
import { toChatView, toFailedUpdateView, toMessageView } from "../views.ts"
import { pageOf } from "./pagination.ts"

const chatNotFound = (e: { message: string }) => Effect.fail(new NotFound(error("chat_not_found", e.message)))

export const ChatsHandlers = HttpApiBuilder.group(
  Api,
  "chats",
  Effect.fn(function* (handlers) {
    const conversations = yield* ConversationService
    return handlers
      .handle(
        "list",
        Effect.fn(function* ({ query }) {
          const page = yield* pageOf(query)
          const found = yield* conversations.listChats(
            {
              botId: query.botId === undefined ? undefined : BotId.make(query.botId),
              tgUserId: query.userId
            },
            page
          )
          return { items: found.items.map(toChatView), nextCursor: found.nextCursor }
        })
      )
      .handle("get", ({ params }) =>
        conversations
          .getChat(ChatId.make(params.id))
          .pipe(Effect.map(toChatView), Effect.catchTag("ChatNotFound", chatNotFound))
      )
      .handle(
        "messages",
        Effect.fn(function* ({ params, query }) {
          const page = yield* pageOf(query)
          const found = yield* conversations
            .listMessages(ChatId.make(params.id), page)
            .pipe(Effect.catchTag("ChatNotFound", chatNotFound))
          return { items: found.items.map(toMessageView), nextCursor: found.nextCursor }
        })
      )
      .handle("send", ({ params, payload }) =>
        conversations.send(ChatId.make(params.id), payload.text).pipe(
          Effect.map(toMessageView),
          Effect.catchTags({
            ChatNotFound: chatNotFound,
            BotNotFound: (e) => Effect.fail(new Conflict(error("bot_not_found", e.message)))
          })
        )
      )
  })
)

export const FailuresHandlers = HttpApiBuilder.group(
  Api,
  "failures",
  Effect.fn(function* (handlers) {
    const conversations = yield* ConversationService
    // Failures of every kind (issue 13)
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
          Effect.catchTags({
            FailureNotFound: (e) => Effect.fail(new NotFound(error("failure_not_found", e.message))),
            FailureNotRetryable: (e) => Effect.fail(new Conflict(error("not_retryable", e.message)))
          })
        )
      )
      .handle("retry", ({ params }) =>
        conversations.retry(MessageId.make(params.id)).pipe(
          Effect.map(toMessageView),
          Effect.catchTags({
            MessageNotFound: (e) => Effect.fail(new NotFound(error("message_not_found", e.message))),
            NotRetryable: (e) => Effect.fail(new Conflict(error("not_retryable", e.message)))
          })
        )
      )
  })
)
