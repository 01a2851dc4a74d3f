import { Schema } from "effect"

export class BotNotFound extends Schema.TaggedError<BotNotFound>()(
  "BotNotFound",
  { botId: Schema.String },
  { httpApiStatus: 404 }
) {
  override get message() {
    return `bot ${this.botId} not found`
  }
}

export class ChatNotFound extends Schema.TaggedError<ChatNotFound>()(
  "ChatNotFound",
  { chatId: Schema.String },
  { httpApiStatus: 404 }
) {
  override get message() {
    return `chat ${this.chatId} not found`
  }
}

export class MessageNotFound extends Schema.TaggedError<MessageNotFound>()(
  "MessageNotFound",
  { messageId: Schema.String },
  { httpApiStatus: 404 }
) {
  override get message() {
    return `message ${this.messageId} not found`
  }
}

export class BotNameTaken extends Schema.TaggedError<BotNameTaken>()(
  "BotNameTaken",
  { name: Schema.String },
  { httpApiStatus: 409 }
) {
  override get message() {
    return `a bot named "${this.name}" already exists`
  }
}

export class BotTokenInUse extends Schema.TaggedError<BotTokenInUse>()(
  "BotTokenInUse",
  { username: Schema.String },
  { httpApiStatus: 409 }
) {
  override get message() {
    return `the token belongs to @${this.username}, which is already registered`
  }
}

/** Telegram said no to the token (`getMe` failed with 401/404), or it is not a token at all. */
export class InvalidBotToken extends Schema.TaggedError<InvalidBotToken>()(
  "InvalidBotToken",
  { reason: Schema.String },
  { httpApiStatus: 422 }
) {
  override get message() {
    return `invalid bot token: ${this.reason}`
  }
}

/** Telegram could not be asked (unreachable, 5xx, 429): nothing is stored; try again later. */
export class TelegramUnavailable extends Schema.TaggedError<TelegramUnavailable>()(
  "TelegramUnavailable",
  { reason: Schema.String, retryAfterSeconds: Schema.Number },
  { httpApiStatus: 503 }
) {
  override get message() {
    return `Telegram could not check the token now (${this.reason}); try again in ${this.retryAfterSeconds} s`
  }
}
