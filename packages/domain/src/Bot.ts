import { Effect, Schema } from "effect"
import { accessFields } from "./Access.ts"
import type { Transition } from "./DomainEffect.ts"
import { DEFAULT_GROUP_MODE, GroupMode } from "./groups.ts"
import { BotId } from "./ids.ts"
import { KnowledgeBaseId } from "./Knowledge.ts"
import { modelSettingsFields } from "./Provider.ts"

/** How a bot receives updates: pushed by Telegram, or fetched by us. */
export const BotMode = Schema.Literals(["webhook", "polling"])
export type BotMode = typeof BotMode.Type

export class Bot extends Schema.Class<Bot>("Bot")({
  id: BotId,
  name: Schema.String,
  /** Encrypted Bot API token; only the Telegram adapter ever sees it in clear. */
  tokenCiphertext: Schema.String,
  /** "123456:…wxyz": enough for an admin to recognise the token. */
  tokenHint: Schema.String,
  telegramBotId: Schema.Int,
  username: Schema.String,
  webhookSecret: Schema.String,
  /** null: the server's default model (OPENAI_MODEL). */
  model: Schema.NullOr(Schema.String),
  systemPrompt: Schema.String,
  startMessage: Schema.String,
  helpMessage: Schema.String,
  errorMessage: Schema.String,
  historyLimit: Schema.Int,
  active: Schema.Boolean,
  lastError: Schema.NullOr(Schema.String),
  lastErrorAt: Schema.NullOr(Schema.Date),
  pollingOffset: Schema.Int,
  createdAt: Schema.Date,
  updatedAt: Schema.Date,
  // access and limits (issue 12): who may talk to the bot and how much
  ...accessFields,
  // providers (issue 12): which LLM endpoint answers and how
  ...modelSettingsFields,
  // conversations (issue 11): behaviour in groups and supergroups (groups.ts)
  groupMode: GroupMode.pipe(Schema.withConstructorDefault(Effect.succeed(DEFAULT_GROUP_MODE))),
  // conversations (issue 11): private answers grow as drafts while the model writes
  streaming: Schema.Boolean.pipe(Schema.withConstructorDefault(Effect.succeed(true))),
  // conversations (issue 11): voice, audio and video notes are transcribed and answered
  voice: Schema.Boolean.pipe(Schema.withConstructorDefault(Effect.succeed(true))),
  // conversations (issue 11): photos go to the model as images
  vision: Schema.Boolean.pipe(Schema.withConstructorDefault(Effect.succeed(true))),
  // ops (issue 13): messages older than this many days are deleted (null: kept)
  historyRetentionDays: Schema.NullOr(Schema.Int).pipe(
    Schema.withConstructorDefault(Effect.succeed<number | null>(null))
  ),
  /** The knowledge bases the bot answers from (the reply pipeline reads them). */
  knowledgeBaseIds: Schema.Array(KnowledgeBaseId).pipe(
    Schema.withConstructorDefault(Effect.succeed<ReadonlyArray<KnowledgeBaseId>>([]))
  )
}) {}

export const BOT_NAME_MAX = 64
export const DEFAULT_HISTORY_LIMIT = 20
/** `historyRetentionDays` lies within these bounds (or is null). */
export const HISTORY_RETENTION_DAYS_MIN = 1
export const HISTORY_RETENTION_DAYS_MAX = 3650

/** The webhook URL of a bot: it carries the bot id, never the token. */
export const webhookUrl = (publicUrl: URL, botId: BotId): string =>
  new URL(
    `telegram/webhook/${botId}`,
    publicUrl.href.endsWith("/") ? publicUrl : `${publicUrl.href}/`
  ).toString()

export const modeFor = (publicUrl: URL | undefined): BotMode => (publicUrl ? "webhook" : "polling")

/**
 * Enabling: with a public URL Telegram is told where to push; without one the
 * webhook is removed (Telegram refuses getUpdates while one is set) and the
 * poller picks the bot up because it is active. Either way the bot's command
 * menu is set.
 */
export const enable = (bot: Bot, publicUrl: URL | undefined, now: Date): Transition<Bot> => ({
  state: new Bot({ ...bot, active: true, lastError: null, lastErrorAt: null, updatedAt: now }),
  effects: [
    publicUrl
      ? { _tag: "TelegramSetWebhook", botId: bot.id, url: webhookUrl(publicUrl, bot.id) }
      : { _tag: "TelegramRemoveWebhook", botId: bot.id },
    // conversations (issue 11): the command menu people see when they type "/".
    { _tag: "TelegramSetCommands", botId: bot.id }
  ]
})

export const disable = (bot: Bot, now: Date): Transition<Bot> => ({
  state: new Bot({ ...bot, active: false, updatedAt: now }),
  effects: [{ _tag: "TelegramRemoveWebhook", botId: bot.id }]
})

/**
 * A fatal failure (revoked token, bad configuration): the bot stops taking
 * work and keeps the error for admins, who are told.
 */
export const markFailed = (bot: Bot, error: string, now: Date): Transition<Bot> => ({
  state: new Bot({ ...bot, active: false, lastError: error, lastErrorAt: now, updatedAt: now }),
  effects: [
    { _tag: "NotifyAdmins", botId: bot.id, chatId: null, message: `Bot ${bot.name} stopped: ${error}` }
  ]
})

/** Masks a token for display: the bot id part and the last four characters. */
export const tokenHint = (token: string): string => {
  const [id] = token.split(":")
  return `${id ?? ""}:…${token.slice(-4)}`
}

/** The shape Telegram gives tokens: `<bot id>:<35 url-safe characters>`. */
export const TOKEN_PATTERN = /^\d{1,20}:[A-Za-z0-9_-]{30,64}$/

export const isWellFormedToken = (token: string): boolean => TOKEN_PATTERN.test(token)
