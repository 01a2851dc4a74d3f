/** Usage numbers for the admin dashboard, computed by the database from indexes. */
import type { BotId } from "@botfleet/domain"
import { Context, type Effect } from "effect"

export type StatsPeriod = "day" | "week" | "month"

export interface StatsRequest {
  readonly from: Date
  readonly to: Date
  readonly botId: BotId | null
  /** How many entries in the top lists. */
  readonly top: number
}

export interface DailyStats {
  /** YYYY-MM-DD (UTC). */
  readonly date: string
  readonly messagesIn: number
  readonly messagesOut: number
  readonly inputTokens: number
  readonly outputTokens: number
  readonly costUsd: number
  readonly errors: number
}

export interface Stats {
  /** User messages received. */
  readonly messagesIn: number
  /** Assistant and admin messages sent. */
  readonly messagesOut: number
  /** Telegram users who wrote in the window. */
  readonly activeUsers: number
  /** Users whose first chat with the bot (any bot when botId is null) began in the window. */
  readonly newUsers: number
  readonly activeChats: number
  readonly newChats: number
  readonly inputTokens: number
  readonly outputTokens: number
  readonly costUsd: number
  /** Replies that failed. */
  readonly errors: number
  /** From a user message's arrival to its reply's last chunk, in ms. */
  readonly replyLatencyMs: { readonly p50: number | null; readonly p95: number | null }
  /** One entry per UTC day of the window, days without traffic included. */
  readonly series: ReadonlyArray<DailyStats>
  readonly topUsers: ReadonlyArray<{
    readonly telegramId: number
    readonly username: string | null
    readonly firstName: string
    readonly messages: number
  }>
  readonly topBots: ReadonlyArray<{
    readonly botId: string
    readonly name: string
    readonly messages: number
    readonly costUsd: number
  }>
}

export class StatsRepository extends Context.Service<
  StatsRepository,
  { readonly compute: (request: StatsRequest) => Effect.Effect<Stats> }
>()("@botfleet/application/StatsRepository") {}
