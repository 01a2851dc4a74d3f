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
