/**
 * Works through one chat's inbox: the oldest due update first, one at a time,
 * so replies leave in the order messages came in. A temporary failure puts
 * the update (and so the chat) back with a backoff; after `maxAttempts` the
 * user gets the bot's error message and the chat moves on.
 */
import { BotId } from "@botfleet/domain"
import { Clock, Context, Effect, Layer, Option } from "effect"
import * as Metrics from "../observability/metrics.ts"
import { spanFn } from "../observability/spanFn.ts"
import { continueTrace } from "../observability/traceContext.ts"
import { DataRefused } from "../ports/Repositories.ts"
import { TelegramGateway } from "../ports/TelegramGateway.ts"
import { type LeasedChat, UpdateInbox } from "../ports/UpdateInbox.ts"
import { SettingsVersion } from "../settings/SettingsVersion.ts"
import { HandleUpdate } from "./HandleUpdate.ts"

export interface RetryPolicy {
  readonly maxAttempts: number
  readonly baseDelayMs: number
  readonly maxDelayMs: number
}

export const defaultRetryPolicy: RetryPolicy = { maxAttempts: 6, baseDelayMs: 1_000, maxDelayMs: 60_000 }

/** Exponential backoff with jitter; a server's own `retry_after` wins when longer. */
export const retryDelayMs = (
  policy: RetryPolicy,
  attempts: number,
  retryAfterSeconds: number | null
): number => {
  const exponential = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** Math.max(0, attempts - 1))
  const jittered = exponential * (0.75 + Math.random() * 0.5)
  return Math.max(jittered, (retryAfterSeconds ?? 0) * 1000)
}

/**
 * idle: nothing left due; waiting: the head waits for a retry or its pace;
 * yielded: more is due, but the chat went back in line so other bots get
 * their share. All three hand the lease back (usually in the same statement
 * as the last update's "done"). lost: the lease was lost.
 */
export type ChatOutcome = "idle" | "waiting" | "yielded" | "lost"

/** A chat this process holds (as `owner`), and the update to start on. */
export interface ChatLease extends LeasedChat {
  readonly owner: string
}

export class ChatWorker extends Context.Service<
  ChatWorker,
  {
    /**
     * Processes the chat's due updates, from `lease.head`, until none is due
     * ("idle"), the head waits for a retry or its pace ("waiting"),
     * `stillOwner` says the lease was lost ("lost"), or, between two updates,
     * `yieldNow` says the chat's bot has more than its share ("yielded").
     */
    readonly drain: (
      lease: ChatLease,
      stillOwner: Effect.Effect<boolean>,
      yieldNow?: Effect.Effect<boolean>
    ) => Effect.Effect<ChatOutcome>
  }
>()("@botfleet/application/ChatWorker") {
  static readonly layerWith = (policy: RetryPolicy) =>
    Layer.effect(
      ChatWorker,
      Effect.gen(function* () {
        const fn = yield* spanFn
        const inbox = yield* UpdateInbox
        const handler = yield* HandleUpdate
        const settings = yield* SettingsVersion
        const telegram = yield* TelegramGateway

        const drain = fn("ChatWorker.drain")(function* (
          { chatKey, owner, head }: ChatLease,
          stillOwner: Effect.Effect<boolean>,
          yieldNow: Effect.Effect<boolean> = Effect.succeed(false)
        ) {
          let next = Option.some(head)
          while (true) {
            if (!(yield* stillOwner)) return "lost" as const
            if (Option.isNone(next)) {
              yield* inbox.releaseLease(chatKey, owner)
              return "idle" as const
            }
            const update = next.value
            const botId = BotId.make(update.botId)
            const attempt = update.attempts + 1
            // Before the bot is looked at: an edit committed before this update came is seen.
            yield* settings.observe(update.settingsVersion)
            // The one read of a stored update per hand-out: processing and giving up share it.
            const incoming = telegram.readStored(update.payload, update.updateId)
            const outcome = yield* handler.process(botId, incoming).pipe(
              Effect.withSpan("Pipeline.update", {
                attributes: {
                  "bot.id": update.botId,
                  "update.id": update.updateId,
                  "update.attempt": attempt
                }
              }),
              continueTrace(update.traceparent),
              Effect.as("done" as const),
              Effect.catchTags({
                RetryLater: (error) => Effect.succeed(error),
                Paced: (error) => Effect.succeed(error),
                BotUnavailable: (error) => Effect.succeed(error),
                InvalidUpdate: (error) => Effect.succeed(error),
                LeaseLost: (error) => Effect.succeed(error)
              }),
              Effect.catchDefect(
                (defect): Effect.Effect<DataRefused | { _tag: "Defect"; reason: string }> =>
                  defect instanceof DataRefused
                    ? // The database refused the data itself: the same data is refused again, so no retry.
                      Effect.as(
                        Effect.logWarning("update refused by the database", {
                          update_id: update.updateId,
                          sql_state: defect.sqlState,
                          constraint: defect.constraint,
                          detail: defect.detail
                        }),
                        defect
                      )
                    : Effect.as(
                        Effect.logError("update failed unexpectedly", {
                          update_id: update.updateId,
                          defect: String(defect)
                        }),
                        { _tag: "Defect" as const, reason: String(defect) }
                      )
              ),
              Effect.annotateLogs({ bot_id: update.botId, update_id: update.updateId, attempt })
            )
            if (outcome === "done") {
              // One round trip for "done" and the chat's next update, or the lease handed back.
              next = yield* inbox.markDoneAndNext(update.id, chatKey, owner)
              if (Option.isNone(next)) return "idle" as const
              if (yield* yieldNow) {
                // Still due: it goes back in line behind the other bots' chats.
                yield* inbox.releaseLease(chatKey, owner)
                return "yielded" as const
              }
              continue
            }
            // Another process has the chat now: nothing is marked, the update is theirs to finish.
            if (outcome._tag === "LeaseLost") return "lost" as const
            if (outcome._tag === "Paced") {
              // Waiting for the bot's send budget or its model key: no slot held, no attempt counted.
              yield* inbox.postpone(update.id, chatKey, owner, new Date(outcome.until))
              yield* Effect.logDebug("update paced", {
                update_id: update.updateId,
                until: new Date(outcome.until).toISOString(),
                reason: outcome.reason
              })
              return "waiting" as const
            }
            if (outcome._tag === "DataRefused") {
              yield* Metrics.count(Metrics.pipelineFailures, { class: "terminal" })
              yield* inbox.markFailed(
                update.id,
                `refused by the database (SQLSTATE ${outcome.sqlState}${
                  outcome.constraint === null ? "" : `, constraint ${outcome.constraint}`
                }): ${outcome.detail}`
              )
              next = yield* inbox.nextDue(chatKey)
              continue
            }
            if (outcome._tag === "InvalidUpdate") {
              // Nothing to retry and nobody to answer: parked for admins, the chat goes on.
              yield* Metrics.count(Metrics.pipelineFailures, { class: "invalid" })
              yield* inbox.markFailed(update.id, `invalid update: ${outcome.reason}`)
              yield* Effect.logWarning("invalid update parked", {
                update_id: update.updateId,
                reason: outcome.reason
              })
              next = yield* inbox.nextDue(chatKey)
              continue
            }
            if (outcome._tag === "BotUnavailable") {
              yield* Metrics.count(Metrics.pipelineFailures, { class: "fatal" })
              yield* inbox.markFailed(update.id, outcome.reason)
              next = yield* inbox.nextDue(chatKey)
              continue
            }
            if (attempt >= policy.maxAttempts) {
              yield* Metrics.count(Metrics.pipelineFailures, { class: "terminal" })
              yield* handler.giveUp(
                botId,
                incoming,
                outcome.reason,
                outcome._tag === "RetryLater" ? outcome.failureKind : undefined
              )
              yield* inbox.markFailed(update.id, `gave up after ${attempt} attempts: ${outcome.reason}`)
              yield* Effect.logWarning("update failed for good", {
                update_id: update.updateId,
                reason: outcome.reason
              })
              next = yield* inbox.nextDue(chatKey)
              continue
            }
            yield* Metrics.count(Metrics.pipelineFailures, { class: "retryable" })
            const delay = retryDelayMs(
              policy,
              attempt,
              outcome._tag === "RetryLater" ? outcome.retryAfterSeconds : null
            )
            const retryAt = new Date((yield* Clock.currentTimeMillis) + delay)
            yield* inbox.reschedule(update.id, outcome.reason, retryAt)
            yield* inbox.releaseLease(chatKey, owner)
            yield* Effect.logInfo("update will be retried", {
              update_id: update.updateId,
              attempt,
              retry_in_ms: Math.round(delay),
              reason: outcome.reason
            })
            return "waiting" as const
          }
        })

        return ChatWorker.of({ drain })
      })
    )

  static readonly layer = ChatWorker.layerWith(defaultRetryPolicy)
}
