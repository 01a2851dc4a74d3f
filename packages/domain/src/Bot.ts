import { Schema } from "effect"
import { botSettingFields } from "./BotSettings.ts"
import type { DomainEffect, Transition } from "./DomainEffect.ts"
import { BotId } from "./ids.ts"

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
  active: Schema.Boolean,
  lastError: Schema.NullOr(Schema.String),
  lastErrorAt: Schema.NullOr(Schema.Date),
  pollingOffset: Schema.Int,
  createdAt: Schema.Date,
  updatedAt: Schema.Date,
  // What an admin sets, with each setting's value on a new bot (BotSettings.ts).
  ...botSettingFields
}) {}

export const BOT_NAME_MAX = 64
export {
  DEFAULT_HISTORY_LIMIT,
  HISTORY_RETENTION_DAYS_MAX,
  HISTORY_RETENTION_DAYS_MIN
} from "./BotSettings.ts"

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
    // The command menu people see when they type "/".
    { _tag: "TelegramSetCommands", botId: bot.id }
  ]
})

/**
 * The command menu is in the bot's language and the admin's wording: an
 * enabled bot whose language or texts changed gets it set again.
 */
export const menuEffects = (before: Bot, after: Bot): ReadonlyArray<DomainEffect> =>
  after.active &&
  (before.language !== after.language || JSON.stringify(before.texts) !== JSON.stringify(after.texts))
    ? [{ _tag: "TelegramSetCommands", botId: after.id }]
    : []

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
