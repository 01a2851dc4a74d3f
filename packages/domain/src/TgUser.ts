import { Schema } from "effect"
import { TelegramUserId } from "./ids.ts"

/** A Telegram user who wrote to any of our bots. */
export class TgUser extends Schema.Class<TgUser>("TgUser")({
  telegramId: TelegramUserId,
  firstName: Schema.String,
  lastName: Schema.NullOr(Schema.String),
  username: Schema.NullOr(Schema.String),
  languageCode: Schema.NullOr(Schema.String),
  isBot: Schema.Boolean,
  firstSeenAt: Schema.Date,
  lastSeenAt: Schema.Date
}) {}
