/**
 * Who may talk to a bot and how much they may use it, decided without I/O.
 * `planReply` applies the access rule; the usage ledger feeds `checkLimits`
 * the counters it holds, under its own lock, so the limit is exact.
 */
import { Schema } from "effect"
import { type BotTexts, englishTexts } from "./texts/botTexts.ts"
import { fill, type TextValues } from "./texts/catalogue.ts"
import { en } from "./texts/en.ts"

/** open: anyone; allowlist: only allowedUserIds, or anyone in allowedChatIds. */
export const AccessMode = Schema.Literals(["open", "allowlist"])
export type AccessMode = typeof AccessMode.Type

const Count = Schema.NullOr(Schema.Int.check(Schema.isGreaterThanOrEqualTo(0)))
const Usd = Schema.NullOr(Schema.Number.check(Schema.isGreaterThanOrEqualTo(0)))

/** Each limit is optional: null means none. */
export const BotLimits = Schema.Struct({
  userMessagesPerMinute: Count,
  userMessagesPerDay: Count,
  userTokensPerDay: Count,
  userUsdPerMonth: Usd,
  botUsdPerMonth: Usd
})
export type BotLimits = typeof BotLimits.Type
export type LimitName = keyof BotLimits

export const NO_LIMITS: BotLimits = {
  userMessagesPerMinute: null,
  userMessagesPerDay: null,
  userTokensPerDay: null,
  userUsdPerMonth: null,
  botUsdPerMonth: null
}

/** False for a bot that sets none: its use is only counted, never checked first. */
export const hasLimits = (limits: BotLimits): boolean => Object.values(limits).some((limit) => limit !== null)

export const DEFAULT_DENIED_MESSAGE: string = en.denied
/** `{limit}` and `{reset}` are replaced by the limit reached and when it resets (UTC). */
export const DEFAULT_LIMIT_MESSAGE: string = en.limit

/** What the access rule reads of a bot. */
export interface AccessPolicy {
  readonly access: AccessMode
  readonly allowedUserIds: ReadonlyArray<number>
  readonly allowedChatIds: ReadonlyArray<number>
  readonly blockedUserIds: ReadonlyArray<number>
}

export type AccessDecision =
  | { readonly _tag: "Allowed" }
  | { readonly _tag: "Denied"; readonly reason: "blocked" | "not_allowed" }

/**
 * Blocked users are refused everywhere; with an allowlist a user gets in by
 * their own id or by writing in an allowed (group) chat.
 */
export const checkAccess = (
  policy: AccessPolicy,
  sender: { readonly userId: number | null; readonly chatId: number }
): AccessDecision => {
  const { userId, chatId } = sender
  if (userId !== null && policy.blockedUserIds.includes(userId)) return { _tag: "Denied", reason: "blocked" }
  if (policy.access === "open") return { _tag: "Allowed" }
  if (userId !== null && policy.allowedUserIds.includes(userId)) return { _tag: "Allowed" }
  if (policy.allowedChatIds.includes(chatId)) return { _tag: "Allowed" }
  return { _tag: "Denied", reason: "not_allowed" }
}

// ---------------------------------------------------------------- windows (UTC)

export type UsageWindow = "minute" | "day" | "month"

export const windowStart = (window: UsageWindow, at: Date): Date => {
  switch (window) {
    case "minute":
      return new Date(Math.floor(at.getTime() / 60_000) * 60_000)
    case "day":
      return new Date(Date.UTC(at.getUTCFullYear(), at.getUTCMonth(), at.getUTCDate()))
    case "month":
      return new Date(Date.UTC(at.getUTCFullYear(), at.getUTCMonth(), 1))
  }
}

/** When the window holding `at` ends, i.e. when its limits reset. */
export const windowEnd = (window: UsageWindow, at: Date): Date => {
  const start = windowStart(window, at)
  switch (window) {
    case "minute":
      return new Date(start.getTime() + 60_000)
    case "day":
      return new Date(start.getTime() + 86_400_000)
    case "month":
      return new Date(Date.UTC(start.getUTCFullYear(), start.getUTCMonth() + 1, 1))
  }
}

/** The start of each window holding `at`. */
export const windowsOf = (at: Date): Record<UsageWindow, Date> => ({
  minute: windowStart("minute", at),
  day: windowStart("day", at),
  month: windowStart("month", at)
})

export const limitWindow: Record<LimitName, UsageWindow> = {
  userMessagesPerMinute: "minute",
  userMessagesPerDay: "day",
  userTokensPerDay: "day",
  userUsdPerMonth: "month",
  botUsdPerMonth: "month"
}

// ---------------------------------------------------------------- limits

/** A user's (and their bot's) use in the windows that hold a given time. */
export interface UsageSnapshot {
  readonly userMessagesThisMinute: number
  readonly userMessagesToday: number
  readonly userTokensToday: number
  readonly userUsdThisMonth: number
  readonly botUsdThisMonth: number
}

export const EMPTY_USAGE: UsageSnapshot = {
  userMessagesThisMinute: 0,
  userMessagesToday: 0,
  userTokensToday: 0,
  userUsdThisMonth: 0,
  botUsdThisMonth: 0
}

/** The bot's own counters are kept as user 0: Telegram user ids start at 1. */
export const BOT_USAGE_ROW = 0

/** One usage counter as the stores keep it: a user (or the bot, as user 0) in one window. */
export interface UsageCounter {
  readonly userId: number
  readonly period: UsageWindow
  readonly messages: number
  readonly tokens: number
  readonly costUsd: number
}

/** The use a snapshot shows, from the counters of a user and of their bot in the current windows. */
export const snapshotOf = (counters: ReadonlyArray<UsageCounter>, userId: number | null): UsageSnapshot => {
  const find = (user: number, period: UsageWindow) =>
    counters.find((counter) => counter.userId === user && counter.period === period)
  const minute = userId === null ? undefined : find(userId, "minute")
  const day = userId === null ? undefined : find(userId, "day")
  const month = userId === null ? undefined : find(userId, "month")
  return {
    userMessagesThisMinute: minute?.messages ?? 0,
    userMessagesToday: day?.messages ?? 0,
    userTokensToday: day?.tokens ?? 0,
    userUsdThisMonth: month?.costUsd ?? 0,
    botUsdThisMonth: find(BOT_USAGE_ROW, "month")?.costUsd ?? 0
  }
}

export type LimitCheck =
  | { readonly _tag: "WithinLimits" }
  | {
      readonly _tag: "OverLimit"
      readonly limit: LimitName
      readonly windowStart: Date
      readonly resetAt: Date
    }

const used = (usage: UsageSnapshot): Record<LimitName, number> => ({
  userMessagesPerMinute: usage.userMessagesThisMinute,
  userMessagesPerDay: usage.userMessagesToday,
  userTokensPerDay: usage.userTokensToday,
  userUsdPerMonth: usage.userUsdThisMonth,
  botUsdPerMonth: usage.botUsdThisMonth
})

const LIMIT_ORDER: ReadonlyArray<LimitName> = [
  "botUsdPerMonth",
  "userUsdPerMonth",
  "userTokensPerDay",
  "userMessagesPerDay",
  "userMessagesPerMinute"
]

/**
 * May one more message go to the model? Message counts are exact; tokens and
 * cost are known only after a reply, so they stop the next message once
 * reached (the overshoot is what replies in flight add). A sender without a
 * user id (a channel post) is held to the bot's limit only.
 */
export const checkLimits = (
  limits: BotLimits,
  usage: UsageSnapshot,
  at: Date,
  hasUser = true
): LimitCheck => {
  const current = used(usage)
  // The longest window first: telling someone "tomorrow" when the month is spent would mislead.
  for (const limit of LIMIT_ORDER) {
    const max = limits[limit]
    if (max === null || (!hasUser && limit !== "botUsdPerMonth")) continue
    if (current[limit] >= max) {
      const window = limitWindow[limit]
      return {
        _tag: "OverLimit",
        limit,
        windowStart: windowStart(window, at),
        resetAt: windowEnd(window, at)
      }
    }
  }
  return { _tag: "WithinLimits" }
}

/** "2026-12-01 00:00 UTC": readable and unambiguous. */
export const formatUtc = (date: Date): string => `${date.toISOString().slice(0, 16).replace("T", " ")} UTC`

/** What a limit message's `{limit}` and `{reset}` stand for, in the reader's language. */
export const limitValues = (
  over: Extract<LimitCheck, { _tag: "OverLimit" }>,
  texts: BotTexts = englishTexts
): TextValues => ({ limit: texts.text(`limit.${over.limit}`), reset: formatUtc(over.resetAt) })

/** A limit message with the limit and its reset time filled in. */
export const limitText = (
  template: string,
  over: Extract<LimitCheck, { _tag: "OverLimit" }>,
  texts: BotTexts = englishTexts
): string => fill(template, limitValues(over, texts))

const usd = (value: number) => `$${value.toFixed(value < 1 ? 4 : 2)}`

/** What `/usage` answers: the user's own use against the bot's limits. */
export const usageText = (
  limits: BotLimits,
  usage: UsageSnapshot,
  at: Date,
  texts: BotTexts = englishTexts
): string => {
  const line = (label: string, value: string, max: string | null, window: UsageWindow) =>
    max === null
      ? `${label}: ${value}`
      : `${label}: ${texts.text("usage.ofLimit", { value, max, reset: formatUtc(windowEnd(window, at)) })}`
  const count = (value: number | null) => (value === null ? null : String(value))
  const money = (value: number | null) => (value === null ? null : usd(value))
  return [
    texts.text("usage.title"),
    line(
      texts.text("usage.messagesThisMinute"),
      String(usage.userMessagesThisMinute),
      count(limits.userMessagesPerMinute),
      "minute"
    ),
    line(
      texts.text("usage.messagesToday"),
      String(usage.userMessagesToday),
      count(limits.userMessagesPerDay),
      "day"
    ),
    line(
      texts.text("usage.tokensToday"),
      String(usage.userTokensToday),
      count(limits.userTokensPerDay),
      "day"
    ),
    line(
      texts.text("usage.spentThisMonth"),
      usd(usage.userUsdThisMonth),
      money(limits.userUsdPerMonth),
      "month"
    )
  ].join("\n")
}
