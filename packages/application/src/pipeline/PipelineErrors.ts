import { FailureKind } from "@botfleet/domain"
import { Schema } from "effect"

/** Something temporary failed (Telegram or the LLM); run the update again later. */
export class RetryLater extends Schema.TaggedError<RetryLater>()("RetryLater", {
  reason: Schema.String,
  retryAfterSeconds: Schema.NullOr(Schema.Number),
  /** What a reply given up on after this failure is stored as failing for. */
  failureKind: Schema.optional(FailureKind)
}) {}

/** The bot cannot work (revoked token, unreadable secret); its updates stop. */
export class BotUnavailable extends Schema.TaggedError<BotUnavailable>()("BotUnavailable", {
  reason: Schema.String
}) {}

/** The update is not what Telegram sends (e.g. a fractional chat id): no retry can help, it is parked at once. */
export class InvalidUpdate extends Schema.TaggedError<InvalidUpdate>()("InvalidUpdate", {
  reason: Schema.String
}) {}

/**
 * Not now, and not a failure: the bot's Telegram budget or its model key's
 * rate limit has no room before `until` (epoch ms). The chat is handed back
 * with that "not before" time, so it holds no slot while it waits, and the
 * attempt is not counted.
 */
export class Paced extends Schema.TaggedError<Paced>()("Paced", {
  until: Schema.Number,
  reason: Schema.String
}) {}

/**
 * This process no longer holds the chat's lease (a renewal failed or another
 * process took the chat over): it must not send or act for the chat any more.
 * Nothing is stored as done or failed; the lease's new owner carries on.
 */
export class LeaseLost extends Schema.TaggedError<LeaseLost>()("LeaseLost", {}) {}
