/**
 * Accepting an update, the same for the webhook and the poller: one insert
 * into the inbox under the update's chat key, with the current trace so
 * processing continues it. The update arrives decoded (`TelegramGateway.readUpdate`
 * at the edge): its chat key comes from the domain value, not a second parse.
 * Acknowledge Telegram (or advance the polling offset) only after this returns.
 */
import { type BotId, chatKeyOfUpdate, type IncomingUpdate } from "@botfleet/domain"
import { Effect } from "effect"
import * as Metrics from "../observability/metrics.ts"
import { currentTraceparent } from "../observability/traceContext.ts"
import { UpdateInbox } from "../ports/UpdateInbox.ts"

// No span of its own: the stored traceparent must be the caller's (Webhook.receive, Poller.receive).
export const acceptUpdate = Effect.fnUntraced(function* (input: {
  readonly botId: BotId
  readonly update: IncomingUpdate
  /** As it came (made storable): the inbox keeps Telegram's own words. */
  readonly payload: unknown
  readonly source: "webhook" | "polling"
}) {
  const inbox = yield* UpdateInbox
  const outcome = yield* inbox.accept({
    botId: input.botId,
    updateId: input.update.updateId,
    chatKey: chatKeyOfUpdate(input.botId, input.update),
    payload: input.payload,
    traceparent: yield* currentTraceparent
  })
  if (outcome === "accepted") {
    yield* Metrics.count(Metrics.updatesReceived, { bot: input.botId, source: input.source })
    // The seed's older name for the same count, kept for dashboards that read it.
    yield* Metrics.count(Metrics.telegramMessagesReceived, { bot: input.botId, source: input.source })
  }
  return outcome
})
