/**
 * Use per user and per bot in UTC windows, and the "told once per window"
 * notices. Counting is exact across processes: `reserve` decides
 * and counts in one step under the store's lock, before the model is asked.
 * A bot without limits skips that: `record` counts a reply's use in one write.
 */
import type { BotId, BotLimits, LimitCheck, MessageId, UsageSnapshot } from "@botfleet/domain"
import { Context, type Effect } from "effect"
import type { Page, PageRequest } from "./Repositories.ts"

/** Who wrote the message: `userId` null for a channel post (held to the bot's limits only). */
export interface UsageKey {
  readonly botId: BotId
  readonly userId: number | null
  readonly messageId: MessageId
}

export interface UsageTotals {
  readonly messages: number
  readonly tokens: number
  readonly costUsd: number
  readonly denied: number
}

/** A Telegram user of one bot, with their use today and this month (UTC). */
export interface BotUserUsage {
  readonly telegramId: number
  readonly firstName: string
  readonly username: string | null
  readonly today: UsageTotals
  readonly thisMonth: UsageTotals
}

export class UsageLedger extends Context.Service<
  UsageLedger,
  {
    /**
     * Within the limits: the message is counted (once per messageId; a rerun
     * is let through without counting again). Over: nothing is counted.
     */
    readonly reserve: (key: UsageKey, limits: BotLimits, at: Date) => Effect.Effect<LimitCheck>
    /**
     * For a bot without limits, where nothing has to be decided first: the
     * message is counted with its tokens and cost in one step, once per messageId.
     */
    readonly record: (
      key: UsageKey,
      usage: { readonly tokens: number; readonly costUsd: number },
      at: Date
    ) => Effect.Effect<void>
    /** Adds the reply's tokens and cost to the windows of the reservation; once per messageId. */
    readonly settle: (
      messageId: MessageId,
      usage: { readonly tokens: number; readonly costUsd: number }
    ) => Effect.Effect<void>
    /**
     * A tool's own spend (an image), counted in the user's day and month and
     * the bot's month when it happens, apart from any message: every call is
     * money spent, so there is nothing to count once.
     */
    readonly addCost: (
      key: { readonly botId: BotId; readonly userId: number | null },
      costUsd: number,
      at: Date
    ) => Effect.Effect<void>
    /** Counts a message refused by the access rule (stats). */
    readonly recordDenied: (botId: BotId, userId: number | null, at: Date) => Effect.Effect<void>
    /** True for the first caller only, per (bot, user, kind, window): the one who should tell the user. */
    readonly claimNotice: (
      botId: BotId,
      userId: number | null,
      kind: string,
      windowStart: Date
    ) => Effect.Effect<boolean>
    readonly usage: (botId: BotId, userId: number | null, at: Date) => Effect.Effect<UsageSnapshot>
    /** Messages refused by the access rule on the UTC days from `from`'s to before `to` (one bot, or all: null). */
    readonly deniedBetween: (botId: BotId | null, from: Date, to: Date) => Effect.Effect<number>
    /** Users who have a private chat with the bot, by Telegram id. */
    readonly listUsers: (botId: BotId, at: Date, page: PageRequest) => Effect.Effect<Page<BotUserUsage>>
  }
>()("@botfleet/application/UsageLedger") {}
