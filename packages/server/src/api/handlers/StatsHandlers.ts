/** `GET /api/stats`: the StatsService, with times as ISO strings and an unknown bot as 404. */
import { Metrics, type StatsReport, StatsService, UsageLedger } from "@botfleet/application"
import { BotId } from "@botfleet/domain"
import { Effect } from "effect"
import { HttpApiBuilder } from "effect/http-api"
import { Api } from "../Api.ts"
import { answerErrors } from "../ApiErrors.ts"
import type { StatsView } from "../schemas.ts"

export const statsView = (report: StatsReport, deniedMessages: number): StatsView => ({
  ...report,
  from: report.from.toISOString(),
  to: report.to.toISOString(),
  deniedMessages
})

export const StatsHandlers = HttpApiBuilder.group(
  Api,
  "stats",
  Effect.fn(function* (handlers) {
    const stats = yield* StatsService
    const ledger = yield* UsageLedger
    return handlers.handle("get", ({ query }) =>
      stats
        .get({
          period: query.period ?? "day",
          botId: query.botId === undefined ? null : BotId.make(query.botId)
        })
        .pipe(
          Effect.flatMap((report) =>
            Effect.map(ledger.deniedBetween(report.botId, report.from, report.to), (denied) =>
              statsView(report, denied)
            )
          ),
          answerErrors,
          // Seed 002's counter.
          Effect.ensuring(Metrics.count(Metrics.statsApiRequests, { period: query.period ?? "day" }))
        )
    )
  })
)
