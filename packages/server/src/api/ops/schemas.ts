/** Bodies of the operations routes (issue 13): scheduled jobs, failures of every kind. */
import { FAILURE_REF_PATTERN } from "@botfleet/domain"
import { Schema } from "effect"
import { InputString, MessageView, Uuid } from "../schemas.ts"

const IsoDate = Schema.String.annotate({ description: "ISO 8601 time" })

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

/** `message:<uuid>`, `update:<id>` or `effect:<id>`, as listed by GET /api/failures. */
export const FailureRef = Schema.String.check(Schema.isPattern(FAILURE_REF_PATTERN)).annotate({
  description: "message:<uuid>, update:<id> or effect:<id>"
})

export const FailureKind = Schema.Literals(["message", "update", "effect"])

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
