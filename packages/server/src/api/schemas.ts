/** Request and response bodies of the admin API. */
import { GroupMode, MessageKind } from "@botfleet/domain"
import { Schema } from "effect"

const IsoDate = Schema.String.annotate({ description: "ISO 8601 time" })
const NullableIsoDate = Schema.NullOr(IsoDate)

export const Uuid = Schema.String.check(Schema.isUUID())

/** `limit` (1–200, default 50) and an opaque `cursor` from the previous page. */
export const PageQuery = {
  limit: Schema.optional(
    Schema.NumberFromString.check(Schema.isInt(), Schema.isBetween({ minimum: 1, maximum: 200 }))
  ),
  cursor: Schema.optional(Schema.String)
}

export const page = <S extends Schema.Top>(item: S) =>
  Schema.Struct({ items: Schema.Array(item), nextCursor: Schema.NullOr(Schema.String) })

// ---------------------------------------------------------------- bots

export const WebhookView = Schema.Struct({
  url: Schema.String,
  pendingUpdateCount: Schema.Number,
  lastErrorMessage: Schema.NullOr(Schema.String),
  lastErrorDate: NullableIsoDate
})

export const BotView = Schema.Struct({
  id: Schema.String,
  name: Schema.String,
  username: Schema.String,
  /** The token itself is never returned: only enough to recognise it. */
  tokenHint: Schema.String,
  active: Schema.Boolean,
  mode: Schema.Literals(["webhook", "polling"]),
  model: Schema.NullOr(Schema.String),
  effectiveModel: Schema.String,
  systemPrompt: Schema.String,
  startMessage: Schema.String,
  helpMessage: Schema.String,
  errorMessage: Schema.String,
  historyLimit: Schema.Number,
  lastError: Schema.NullOr(Schema.String),
  lastErrorAt: NullableIsoDate,
  createdAt: IsoDate,
  updatedAt: IsoDate,
  /** Telegram's view of the webhook (GET /api/bots/:id only; null when polling or unreachable). */
  webhook: Schema.optional(Schema.NullOr(WebhookView)),
  // conversations (issue 11)
  groupMode: GroupMode,
  streaming: Schema.Boolean,
  voice: Schema.Boolean,
  vision: Schema.Boolean
})
export type BotView = typeof BotView.Type

const BotName = Schema.String.check(Schema.isTrimmed(), Schema.isMinLength(1), Schema.isMaxLength(64))
const Text = (max: number) => Schema.String.check(Schema.isMaxLength(max))
const Token = Schema.String.check(Schema.isMinLength(1), Schema.isMaxLength(200))
const HistoryLimit = Schema.Int.check(Schema.isBetween({ minimum: 0, maximum: 200 }))

export const CreateBot = Schema.Struct({
  name: BotName,
  token: Token,
  model: Schema.optional(Schema.NullOr(Text(200))),
  systemPrompt: Schema.optional(Text(20_000)),
  startMessage: Schema.optional(Text(4096)),
  helpMessage: Schema.optional(Text(4096)),
  errorMessage: Schema.optional(Text(4096)),
  historyLimit: Schema.optional(HistoryLimit),
  // conversations (issue 11)
  groupMode: Schema.optional(GroupMode),
  streaming: Schema.optional(Schema.Boolean),
  voice: Schema.optional(Schema.Boolean),
  vision: Schema.optional(Schema.Boolean)
})

export const UpdateBot = Schema.Struct({
  name: Schema.optional(BotName),
  token: Schema.optional(Token),
  model: Schema.optional(Schema.NullOr(Text(200))),
  systemPrompt: Schema.optional(Text(20_000)),
  startMessage: Schema.optional(Text(4096)),
  helpMessage: Schema.optional(Text(4096)),
  errorMessage: Schema.optional(Text(4096)),
  historyLimit: Schema.optional(HistoryLimit),
  // conversations (issue 11)
  groupMode: Schema.optional(GroupMode),
  streaming: Schema.optional(Schema.Boolean),
  voice: Schema.optional(Schema.Boolean),
  vision: Schema.optional(Schema.Boolean)
})

// ---------------------------------------------------------------- chats and messages

export const UserView = Schema.Struct({
  telegramId: Schema.Number,
  firstName: Schema.String,
  lastName: Schema.NullOr(Schema.String),
  username: Schema.NullOr(Schema.String),
  languageCode: Schema.NullOr(Schema.String)
})

export const ChatView = Schema.Struct({
  id: Schema.String,
  botId: Schema.String,
  telegramChatId: Schema.Number,
  type: Schema.String,
  title: Schema.NullOr(Schema.String),
  user: Schema.NullOr(UserView),
  thread: Schema.Number,
  lastError: Schema.NullOr(Schema.String),
  lastMessageAt: NullableIsoDate,
  createdAt: IsoDate
})
export type ChatView = typeof ChatView.Type

export const MessageView = Schema.Struct({
  id: Schema.String,
  chatId: Schema.String,
  botId: Schema.String,
  role: Schema.Literals(["user", "assistant", "admin"]),
  text: Schema.String,
  thread: Schema.Number,
  status: Schema.Literals(["received", "pending", "sent", "failed"]),
  error: Schema.NullOr(Schema.String),
  model: Schema.NullOr(Schema.String),
  inputTokens: Schema.Number,
  outputTokens: Schema.Number,
  costUsd: Schema.Number,
  telegramMessageIds: Schema.Array(Schema.Number),
  replyTo: Schema.NullOr(Schema.String),
  createdAt: IsoDate,
  sentAt: NullableIsoDate,
  // conversations (issue 11)
  kind: MessageKind,
  mediaSeconds: Schema.NullOr(Schema.Number),
  senderName: Schema.NullOr(Schema.String)
})
export type MessageView = typeof MessageView.Type

export const SendMessage = Schema.Struct({
  text: Schema.String.check(Schema.isMinLength(1), Schema.isMaxLength(20_000))
})

export const ChatsQuery = {
  botId: Schema.optional(Uuid),
  userId: Schema.optional(Schema.NumberFromString.check(Schema.isInt())),
  ...PageQuery
}

// ---------------------------------------------------------------- stats

export const StatsQuery = {
  period: Schema.optional(Schema.Literals(["day", "week", "month"])),
  botId: Schema.optional(Uuid)
}

export const StatsView = Schema.Struct({
  period: Schema.Literals(["day", "week", "month"]),
  from: IsoDate,
  to: IsoDate,
  botId: Schema.NullOr(Schema.String),
  messagesIn: Schema.Number,
  messagesOut: Schema.Number,
  activeUsers: Schema.Number,
  newUsers: Schema.Number,
  activeChats: Schema.Number,
  newChats: Schema.Number,
  inputTokens: Schema.Number,
  outputTokens: Schema.Number,
  costUsd: Schema.Number,
  errors: Schema.Number,
  replyLatencyMs: Schema.Struct({ p50: Schema.NullOr(Schema.Number), p95: Schema.NullOr(Schema.Number) }),
  series: Schema.Array(
    Schema.Struct({
      date: Schema.String,
      messagesIn: Schema.Number,
      messagesOut: Schema.Number,
      inputTokens: Schema.Number,
      outputTokens: Schema.Number,
      costUsd: Schema.Number,
      errors: Schema.Number
    })
  ),
  topUsers: Schema.Array(
    Schema.Struct({
      telegramId: Schema.Number,
      username: Schema.NullOr(Schema.String),
      firstName: Schema.String,
      messages: Schema.Number
    })
  ),
  topBots: Schema.Array(
    Schema.Struct({
      botId: Schema.String,
      name: Schema.String,
      messages: Schema.Number,
      costUsd: Schema.Number
    })
  )
})
export type StatsView = typeof StatsView.Type

// ---------------------------------------------------------------- auth

const Email = Schema.String.check(
  Schema.isTrimmed(),
  Schema.isMaxLength(254),
  Schema.isPattern(/^[^@\s]+@[^@\s]+$/)
)

export const Login = Schema.Struct({
  email: Email,
  password: Schema.String.check(Schema.isMinLength(1), Schema.isMaxLength(1024))
})

export const Register = Schema.Struct({
  email: Email,
  password: Schema.String.check(Schema.isMinLength(12), Schema.isMaxLength(1024)),
  registrationToken: Schema.String
})

export const AdminView = Schema.Struct({ id: Schema.String, email: Schema.String, createdAt: IsoDate })
export type AdminView = typeof AdminView.Type
