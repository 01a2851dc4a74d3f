import { Schema } from "effect"

/** Something temporary failed (Telegram or the LLM); run the update again later. */
export class RetryLater extends Schema.TaggedError<RetryLater>()("RetryLater", {
  reason: Schema.String,
  retryAfterSeconds: Schema.NullOr(Schema.Number)
}) {}

/** The bot cannot work (revoked token, unreadable secret); its updates stop. */
export class BotUnavailable extends Schema.TaggedError<BotUnavailable>()("BotUnavailable", {
  reason: Schema.String
}) {}

/** The update is not what Telegram sends (e.g. a fractional chat id): no retry can help, it is parked at once. */
export class InvalidUpdate extends Schema.TaggedError<InvalidUpdate>()("InvalidUpdate", {
  reason: Schema.String
}) {}
