/** The domain's failures. Their HTTP status and code are in the server's one table (api/ApiErrors.ts). */
import { Schema } from "effect"

export class BotNotFound extends Schema.TaggedError<BotNotFound>()("BotNotFound", { botId: Schema.String }) {
  override get message() {
    return `bot ${this.botId} not found`
  }
}

export class ChatNotFound extends Schema.TaggedError<ChatNotFound>()("ChatNotFound", {
  chatId: Schema.String
}) {
  override get message() {
    return `chat ${this.chatId} not found`
  }
}

export class MessageNotFound extends Schema.TaggedError<MessageNotFound>()("MessageNotFound", {
  messageId: Schema.String
}) {
  override get message() {
    return `message ${this.messageId} not found`
  }
}

export class BotNameTaken extends Schema.TaggedError<BotNameTaken>()("BotNameTaken", {
  name: Schema.String
}) {
  override get message() {
    return `a bot named "${this.name}" already exists`
  }
}

export class BotTokenInUse extends Schema.TaggedError<BotTokenInUse>()("BotTokenInUse", {
  username: Schema.String
}) {
  override get message() {
    return `the token belongs to @${this.username}, which is already registered`
  }
}

/** Telegram said no to the token (`getMe` failed with 401/404), or it is not a token at all. */
export class InvalidBotToken extends Schema.TaggedError<InvalidBotToken>()("InvalidBotToken", {
  reason: Schema.String
}) {
  override get message() {
    return `invalid bot token: ${this.reason}`
  }
}

/** Telegram could not be asked (unreachable, 5xx, 429): nothing is stored; try again later. */
export class TelegramUnavailable extends Schema.TaggedError<TelegramUnavailable>()("TelegramUnavailable", {
  reason: Schema.String,
  retryAfterSeconds: Schema.Number
}) {
  override get message() {
    return `Telegram could not check the token now (${this.reason}); try again in ${this.retryAfterSeconds} s`
  }
}

// ---------------------------------------------------------------- providers

export class ProviderNotFound extends Schema.TaggedError<ProviderNotFound>()("ProviderNotFound", {
  providerId: Schema.String
}) {
  override get message() {
    return `provider ${this.providerId} not found`
  }
}

export class ProviderNameTaken extends Schema.TaggedError<ProviderNameTaken>()("ProviderNameTaken", {
  name: Schema.String
}) {
  override get message() {
    return `a provider named "${this.name}" already exists`
  }
}

/** Bots still answer through the provider: move them first. */
export class ProviderInUse extends Schema.TaggedError<ProviderInUse>()("ProviderInUse", {
  providerId: Schema.String,
  bots: Schema.Array(Schema.String)
}) {
  override get message() {
    const one = this.bots.length <= 1
    const named = this.bots.length === 0 ? "a bot" : `${one ? "bot" : "bots"} ${this.bots.join(", ")}`
    return `the provider is used by ${named}; give ${one ? "it" : "them"} another provider first`
  }
}

/** The server refused the key (401/403 on GET /models). Nothing is stored. */
export class InvalidProviderKey extends Schema.TaggedError<InvalidProviderKey>()("InvalidProviderKey", {
  reason: Schema.String
}) {
  override get message() {
    return `the provider refused the API key: ${this.reason}`
  }
}

/** The provider could not be asked (unreachable, timeout, 5xx, 429). Nothing is stored; try again. */
export class ProviderUnreachable extends Schema.TaggedError<ProviderUnreachable>()("ProviderUnreachable", {
  reason: Schema.String
}) {
  override get message() {
    return `the provider could not be reached: ${this.reason}`
  }
}
