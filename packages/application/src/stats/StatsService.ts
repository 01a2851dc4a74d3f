/** Usage stats for the admin dashboard: the last day, week or month, of the fleet or of one bot. */
import type { BotId, BotNotFound } from "@botfleet/domain"
import { Clock, Context, Effect, Layer } from "effect"
import { BotRepository } from "../ports/Repositories.ts"
import { type Stats, type StatsPeriod, StatsRepository } from "../ports/StatsRepository.ts"

export interface StatsQuery {
  readonly period: StatsPeriod
  /** null: every bot. */
  readonly botId: BotId | null
  /** How many entries in the top lists (default 10). */
  readonly top?: number | undefined
}

export interface StatsReport extends Stats {
  readonly period: StatsPeriod
  readonly from: Date
  /** Now: the window is [from, to). */
  readonly to: Date
  readonly botId: BotId | null
}

const DAY_MS = 86_400_000

export const statsPeriodDays: Record<StatsPeriod, number> = { day: 1, week: 7, month: 30 }

export const DEFAULT_STATS_TOP = 10

export class StatsService extends Context.Service<
  StatsService,
  { readonly get: (query: StatsQuery) => Effect.Effect<StatsReport, BotNotFound> }
>()("@botfleet/application/StatsService") {
  static readonly layer = Layer.effect(
    StatsService,
    Effect.gen(function* () {
      const bots = yield* BotRepository
      const stats = yield* StatsRepository

      const get = Effect.fn("StatsService.get")(function* (query: StatsQuery) {
        // An unknown bot is a 404, not a dashboard of zeros.
        if (query.botId !== null) yield* bots.findById(query.botId)
        const now = yield* Clock.currentTimeMillis
        const to = new Date(now)
        const from = new Date(now - statsPeriodDays[query.period] * DAY_MS)
        const computed = yield* stats.compute({
          from,
          to,
          botId: query.botId,
          top: query.top ?? DEFAULT_STATS_TOP
        })
        return { period: query.period, from, to, botId: query.botId, ...computed } satisfies StatsReport
      })

      return StatsService.of({ get })
    })
  )
}
