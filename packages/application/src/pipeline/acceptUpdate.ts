/**
 * Accepting an update, the same for the webhook and the poller: one insert
 * into the inbox under the update's chat key, with the current trace so
 * processing continues it. Acknowledge Telegram (or advance the polling
 * offset) only after this returns.
 */
import type { BotId } from "@botfleet/domain"
import { Effect } from "effect"
import * as Metrics from "../observability/metrics.ts"
import { currentTraceparent } from "../observability/traceContext.ts"
import { UpdateInbox } from "../ports/UpdateInbox.ts"
import { chatKeyOfUpdate } from "./telegramUpdate.ts"

// No span of its own: the stored traceparent must be the caller's (Webhook.receive, Poller.receive).
export const acceptUpdate = Effect.fnUntraced(function* (input: {
  readonly botId: BotId
  readonly updateId: number
  readonly payload: unknown
  readonly source: "webhook" | "polling"
}) {
  const inbox = yield* UpdateInbox
  const outcome = yield* inbox.accept({
    botId: input.botId,
    updateId: input.updateId,
    chatKey: chatKeyOfUpdate(input.botId, input.payload),
    payload: input.payload,
    traceparent: yield* currentTraceparent
  })
  if (outcome === "accepted") {
    yield* Metrics.count(Metrics.updatesReceived, { bot: input.botId, source: input.source })
    // Seed 002's name for the same count (issue 13).
    yield* Metrics.count(Metrics.telegramMessagesReceived, { bot: input.botId, source: input.source })
  }
  return outcome
})
