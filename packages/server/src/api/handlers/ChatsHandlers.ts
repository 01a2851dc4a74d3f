/** Chats and their messages; an admin answers as the bot (202: delivery is queued). */
import { ConversationService } from "@botfleet/application"
import { BotId, ChatId } from "@botfleet/domain"
import { Effect } from "effect"
import { HttpApiBuilder } from "effect/http-api"
import { Api } from "../Api.ts"
import { answerErrors, Conflict, error } from "../ApiErrors.ts"
import { toChatView, toMessageView, toSummaryView, toToolCallView } from "../views.ts"
import { pageOf } from "./pagination.ts"

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
        conversations.getChat(ChatId.make(params.id)).pipe(Effect.map(toChatView), answerErrors)
      )
      .handle(
        "messages",
        Effect.fn(function* ({ params, query }) {
          const page = yield* pageOf(query)
          const found = yield* conversations.listMessages(ChatId.make(params.id), page).pipe(answerErrors)
          const toolCalls = yield* conversations.toolCallsOf(found.items)
          const items = found.items.map((message) => {
            const calls = toolCalls.get(message.id)
            const view = toMessageView(message)
            return calls === undefined ? view : { ...view, toolCalls: calls.map(toToolCallView) }
          })
          return { items, nextCursor: found.nextCursor }
        })
      )
      .handle("summaries", ({ params }) =>
        conversations.listSummaries(ChatId.make(params.id)).pipe(
          Effect.map((summaries) => ({ items: summaries.map(toSummaryView) })),
          answerErrors
        )
      )
      .handle("send", ({ params, payload }) =>
        conversations.send(ChatId.make(params.id), payload.text).pipe(
          Effect.map(toMessageView),
          // The chat exists but its bot was deleted meanwhile: a conflict, not a missing route.
          Effect.catchTag("BotNotFound", (e) => Effect.fail(new Conflict(error("bot_not_found", e.message)))),
          answerErrors
        )
      )
  })
)
