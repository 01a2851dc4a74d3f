/** Request and response bodies of the admin API. */
import {
  BotModel,
  botSettingInputFields,
  botSettingViewFields,
  FAILURE_REF_PATTERN,
  InputString,
  MessageKind
} from "@botfleet/domain"
import { Schema } from "effect"

/** Every string a client sends is built on this (domain text.ts): text PostgreSQL can store. */
export { InputString }

export const IsoDate = Schema.String.annotate({ description: "ISO 8601 time" })
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
  effectiveModel: Schema.String,
  lastError: Schema.NullOr(Schema.String),
  lastErrorAt: NullableIsoDate,
  createdAt: IsoDate,
  updatedAt: IsoDate,
  /** Telegram's view of the webhook (GET /api/bots/:id only; null when polling or unreachable). */
  webhook: Schema.optional(Schema.NullOr(WebhookView)),
  // Every setting, as declared in domain BotSettings.ts.
  ...botSettingViewFields
})
export type BotView = typeof BotView.Type

const UsageTotalsView = Schema.Struct({
  messages: Schema.Number,
  tokens: Schema.Number,
  costUsd: Schema.Number,
  denied: Schema.Number
})

/** A Telegram user of a bot: use today and this month (UTC), and whether they are blocked. */
export const BotUserView = Schema.Struct({
  telegramId: Schema.Number,
  firstName: Schema.String,
  username: Schema.NullOr(Schema.String),
  blocked: Schema.Boolean,
  today: UsageTotalsView,
  thisMonth: UsageTotalsView
})
export type BotUserView = typeof BotUserView.Type

/** A note the bot keeps about a user (the remember tool), oldest first. */
export const UserNoteView = Schema.Struct({
  id: Schema.String,
  text: Schema.String,
  createdAt: Schema.String
})
export type UserNoteView = typeof UserNoteView.Type

/** `limit` as elsewhere; `cursor` is the last Telegram id of the previous page. */
export const BotUsersQuery = PageQuery

// ---------------------------------------------------------------- providers

const ModelName = InputString.check(Schema.isTrimmed(), Schema.isMinLength(1), Schema.isMaxLength(200))

/**
 * An OpenAI-compatible API root: http(s), a host (name, IPv4 or [IPv6]) and an
 * optional port and path; no credentials, query or fragment (the key has its own
 * field). A pattern, so the shape also shows in /openapi.json.
 */
const BaseUrl = InputString.check(
  Schema.isMaxLength(2000),
  Schema.isPattern(/^https?:\/\/(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+)(:\d{1,5})?(\/[^\s?#]*)?$/, {
    expected: "an http(s) URL without credentials, query or fragment"
  }),
  Schema.makeFilter((text: string) => URL.canParse(text), { expected: "a URL with a valid host and port" })
).annotate({ description: "an http(s) API root, e.g. http://127.0.0.1:11434/v1" })

const Usd = Schema.Finite.check(Schema.isBetween({ minimum: 0, maximum: 1_000_000 }))

/** USD per million tokens per model, as OPENAI_PRICES: `{ "llama3.1": { "input": 0, "output": 0 } }`. */
const PricesInput = Schema.Record(ModelName, Schema.Struct({ input: Usd, output: Usd })).check(
  Schema.isMaxProperties(1000)
)

const ProviderName = InputString.check(Schema.isTrimmed(), Schema.isMinLength(1), Schema.isMaxLength(64))
/** It goes in an HTTP header: visible ASCII only, no spaces. */
const ApiKey = InputString.check(
  Schema.isMinLength(1),
  Schema.isMaxLength(1000),
  Schema.isPattern(/^[\x21-\x7E]+$/, { expected: "visible ASCII characters without spaces" })
).annotate({ description: "visible ASCII characters, no spaces (it is sent as a bearer token)" })

export const CreateProvider = Schema.Struct({
  name: ProviderName,
  baseUrl: BaseUrl,
  /** Write only; servers that need none (Ollama) take any placeholder. */
  apiKey: ApiKey,
  defaultModel: Schema.optional(Schema.NullOr(ModelName)),
  prices: Schema.optional(PricesInput)
})

export const UpdateProvider = Schema.Struct({
  name: Schema.optional(ProviderName),
  baseUrl: Schema.optional(BaseUrl),
  apiKey: Schema.optional(ApiKey),
  defaultModel: Schema.optional(Schema.NullOr(ModelName)),
  /** Replaces the whole table. */
  prices: Schema.optional(PricesInput)
})

export const ProviderView = Schema.Struct({
  id: Schema.String,
  name: Schema.String,
  baseUrl: Schema.String,
  /** The key itself is never returned: its last four characters only. */
  apiKeyHint: Schema.String,
  defaultModel: Schema.NullOr(Schema.String),
  prices: Schema.Record(Schema.String, Schema.Struct({ input: Schema.Number, output: Schema.Number })),
  /** The bots that answer through this provider. */
  bots: Schema.Array(Schema.Struct({ id: Schema.String, name: Schema.String })),
  createdAt: IsoDate,
  updatedAt: IsoDate
})
export type ProviderView = typeof ProviderView.Type

// ----------------------------------------------------------------

const BotName = InputString.check(Schema.isTrimmed(), Schema.isMinLength(1), Schema.isMaxLength(64))
const Token = InputString.check(
  // A pattern, not a predicate: generated samples (the property tests) can then match it.
  Schema.isPattern(BotModel.TOKEN_PATTERN, { expected: "a Telegram bot token (digits:letters)" })
)

/** A new bot: its name and token; every setting may be given (domain BotSettings.ts). */
export const CreateBot = Schema.Struct({
  name: BotName,
  token: Token,
  ...botSettingInputFields
})

/** Any field of CreateBot; the ones left out stay as they are. */
export const UpdateBot = Schema.Struct({
  name: Schema.optional(BotName),
  token: Schema.optional(Token),
  ...botSettingInputFields
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
  // Each conversation with a state of its own: outside topics (topicId null) or one forum topic.
  // persona: the key chosen there with /mode (null: the bot's defaultPersona); thread: a topic's own.
  conversations: Schema.Array(
    Schema.Struct({
      topicId: Schema.NullOr(Schema.Number),
      persona: Schema.NullOr(Schema.String),
      thread: Schema.Number
    })
  ),
  lastError: Schema.NullOr(Schema.String),
  lastMessageAt: NullableIsoDate,
  createdAt: IsoDate
})
export type ChatView = typeof ChatView.Type

/** A tool call a reply made, as the transcript shows it: arguments and result cut to TOOL_TEXT_MAX. */
export const ToolCallView = Schema.Struct({
  step: Schema.Number,
  name: Schema.String,
  arguments: Schema.String,
  status: Schema.Literals(["running", "finished"]),
  isError: Schema.Boolean,
  result: Schema.NullOr(Schema.String),
  /** The whole result's length: more than `result` shows when it was cut. */
  resultChars: Schema.Number,
  startedAt: IsoDate,
  durationMs: Schema.NullOr(Schema.Number)
})
export type ToolCallView = typeof ToolCallView.Type

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
  // What kind of message it was, and how long a recording lasted
  kind: MessageKind,
  mediaSeconds: Schema.NullOr(Schema.Number),
  senderName: Schema.NullOr(Schema.String),
  // The forum topic (Telegram's message_thread_id) it belongs to; null outside topics
  topicId: Schema.NullOr(Schema.Number),
  // When /retry answered again: on the replaced answer (and the /retry); left out of the model's history
  replacedAt: NullableIsoDate,
  /** A reply's tool calls, in order (GET /api/chats/:id/messages; absent when it made none). */
  toolCalls: Schema.optionalKey(Schema.Array(ToolCallView))
})
export type MessageView = typeof MessageView.Type

/** A running summary: the thread's turns up to `coversUpTo`, folded by the model. */
export const SummaryView = Schema.Struct({
  id: Schema.String,
  thread: Schema.Number,
  topicId: Schema.NullOr(Schema.Number),
  coversUpTo: Schema.String,
  text: Schema.String,
  model: Schema.String,
  inputTokens: Schema.Number,
  outputTokens: Schema.Number,
  costUsd: Schema.Number,
  createdAt: IsoDate
})
export type SummaryView = typeof SummaryView.Type

export const SendMessage = Schema.Struct({
  text: InputString.check(Schema.isMinLength(1), Schema.isMaxLength(20_000))
})

export const ChatsQuery = {
  botId: Schema.optional(Uuid),
  userId: Schema.optional(Schema.NumberFromString.check(Schema.isInt())),
  ...PageQuery
}

export const FailedUpdateView = Schema.Struct({
  id: Schema.Number,
  botId: Schema.String,
  updateId: Schema.Number,
  error: Schema.NullOr(Schema.String),
  attempts: Schema.Number,
  receivedAt: IsoDate,
  failedAt: NullableIsoDate
})
export type FailedUpdateView = typeof FailedUpdateView.Type

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
  ),
  // Messages refused by access rules, by UTC day
  deniedMessages: Schema.Number
})
export type StatsView = typeof StatsView.Type

// ---------------------------------------------------------------- auth

export const Email = InputString.check(
  Schema.isTrimmed(),
  Schema.isMaxLength(254),
  Schema.isPattern(/^[^@\s]+@[^@\s]+$/, { expected: "an email address" })
)

export const Login = Schema.Struct({
  email: Email,
  password: InputString.check(Schema.isMinLength(1), Schema.isMaxLength(1024))
})

/** The rule for every password an admin chooses (register, change password). */
// Counted in characters (code points), as JSON Schema's minLength is, so /openapi.json says 12 too.
export const NewPassword = InputString.check(Schema.isMinCodePoints(12), Schema.isMaxLength(1024))

export const Register = Schema.Struct({
  email: Email,
  password: NewPassword,
  registrationToken: InputString.check(Schema.isMaxLength(1024))
})

/** The first owner, from the one-time link in the start-up log. */
export const CompleteSetup = Schema.Struct({
  token: InputString.check(Schema.isMinLength(1), Schema.isMaxLength(256)),
  email: Email,
  password: Register.fields.password
})

export const SetupStatusView = Schema.Struct({
  /** True while no admin exists: the console then points to the setup link in the server log. */
  needed: Schema.Boolean
})

export const AdminView = Schema.Struct({
  id: Schema.String,
  email: Schema.String,
  // Roles and the audit log: what this admin may do (see docs/api.md)
  role: Schema.Literals(["owner", "operator", "viewer"]),
  createdAt: IsoDate
})
export type AdminView = typeof AdminView.Type

// ---------------------------------------------------------------- scheduled jobs

export const JobRunView = Schema.Struct({
  tick: IsoDate,
  owner: Schema.String,
  startedAt: IsoDate,
  finishedAt: Schema.NullOr(IsoDate),
  outcome: Schema.Literals(["running", "ok", "failed"]),
  durationMs: Schema.NullOr(Schema.Number),
  detail: Schema.NullOr(Schema.String)
})

export const JobView = Schema.Struct({
  name: Schema.String,
  everySeconds: Schema.Number,
  lastRun: Schema.NullOr(JobRunView),
  nextTick: IsoDate
})
export type JobView = typeof JobView.Type

export const JobsView = Schema.Struct({ items: Schema.Array(JobView) })

// ---------------------------------------------------------------- failures of every kind

/** `message:<uuid>`, `update:<id>`, `effect:<id>` or `document:<uuid>`, as listed by GET /api/failures. */
export const FailureRef = Schema.String.check(Schema.isPattern(FAILURE_REF_PATTERN)).annotate({
  description: "message:<uuid>, update:<id>, effect:<id> or document:<uuid>"
})

export const FailureKind = Schema.Literals(["message", "update", "effect", "document"])

export const FailureView = Schema.Struct({
  id: Schema.String,
  kind: FailureKind,
  botId: Schema.NullOr(Schema.String),
  chatId: Schema.NullOr(Schema.String),
  error: Schema.NullOr(Schema.String),
  attempts: Schema.NullOr(Schema.Number),
  at: IsoDate,
  summary: Schema.String,
  /** The failed reply or admin message itself (kind "message" only). */
  message: Schema.NullOr(MessageView)
})
export type FailureView = typeof FailureView.Type

export const FailureRetried = Schema.Struct({
  id: Schema.String,
  kind: FailureKind,
  status: Schema.Literal("queued")
})

// ---------------------------------------------------------------- alert settings

const HttpUrl = InputString.check(
  Schema.isMaxLength(2000),
  Schema.isPattern(/^https?:\/\/[^\s/?#]+[^\s]*$/)
).annotate({ description: "an http(s) URL" })

export const AlertSettingsView = Schema.Struct({
  /** Only the origin ("https://hooks.slack.com/…"): the path of such URLs is a secret. */
  webhookUrl: Schema.NullOr(Schema.String),
  telegramBotId: Schema.NullOr(Schema.String),
  telegramChatIds: Schema.Array(Schema.Number),
  cooldownMinutes: Schema.Number
})
export type AlertSettingsView = typeof AlertSettingsView.Type

export const UpdateAlertSettings = Schema.Struct({
  webhookUrl: Schema.optional(Schema.NullOr(HttpUrl)),
  telegramBotId: Schema.optional(Schema.NullOr(Uuid)),
  telegramChatIds: Schema.optional(Schema.Array(Schema.Int).check(Schema.isMaxLength(20))),
  cooldownMinutes: Schema.optional(Schema.Int.check(Schema.isBetween({ minimum: 1, maximum: 10080 })))
})

// ---------------------------------------------------------------- Mini App sign-in

export const WebAppSignIn = Schema.Struct({
  /** `Telegram.WebApp.initData`, exactly as the Mini App got it. */
  initData: InputString.check(Schema.isMinLength(1), Schema.isMaxLength(8192))
})

export const WebAppSessionView = Schema.Struct({
  token: Schema.String,
  expiresAt: IsoDate,
  user: Schema.Struct({ id: Schema.Number, firstName: Schema.String, username: Schema.NullOr(Schema.String) })
})

export const WebAppProfileView = Schema.Struct({
  telegramUserId: Schema.Number,
  messages: Schema.Array(MessageView),
  usage: Schema.Struct({
    messages: Schema.Number,
    inputTokens: Schema.Number,
    outputTokens: Schema.Number,
    costUsd: Schema.Number
  })
})
