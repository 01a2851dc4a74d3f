/**
 * The scheduled side of alerts: every 15 s one process looks at the fleet's
 * conditions and raises or resolves alerts; once a day it sends the digest.
 */
import { checkLimits, EMPTY_USAGE, NO_LIMITS, windowEnd, windowStart } from "@botfleet/domain"
import { Clock, Effect } from "effect"
import { ProviderPacing } from "../pipeline/providerPacing.ts"
import { AlertStore, type BotBudget } from "../ports/Alerts.ts"
import { Maintenance } from "../ports/Scheduler.ts"
import type { Job } from "../scheduler/Scheduler.ts"
import { AlertService, type AlertSeverity } from "./AlertService.ts"

export interface AlertJobOptions {
  /** A pending update older than this is a backlog (QUEUE_MAX_AGE_SECONDS). */
  readonly queueMaxAgeSeconds: number
  /** How often the alert conditions are evaluated (ALERTS_EVERY_SECONDS, default 15). */
  readonly alertsEverySeconds?: number | undefined
}

/** Failed replies and updates within this window … */
const WINDOW_MS = 10 * 60_000
/** … from this many on are a spike. */
const FAILURE_SPIKE = 10

/** Whether the bot's monthly budget stops its replies: the rule `UsageLedger.reserve` applies. */
const budgetReached = (budget: BotBudget, at: Date): boolean =>
  checkLimits(
    { ...NO_LIMITS, botUsdPerMonth: budget.limitUsd },
    { ...EMPTY_USAGE, botUsdThisMonth: budget.spentUsd },
    at,
    false
  )._tag === "OverLimit"

export const alertsJob = (options: AlertJobOptions) =>
  Effect.gen(function* () {
    const alerts = yield* AlertService
    const store = yield* AlertStore
    const maintenance = yield* Maintenance
    const pacing = yield* ProviderPacing

    /** Raises one alert per bot in `now`, resolves the open ones of `kind` that are gone. */
    const perBot = <B extends { readonly id: string }>(
      kind: string,
      now: ReadonlyArray<B>,
      open: ReadonlyArray<{ readonly kind: string; readonly botKey: string }>,
      text: (bot: B) => string,
      severity: AlertSeverity = "critical"
    ) =>
      Effect.gen(function* () {
        for (const bot of now) yield* alerts.raise({ kind, severity, botId: bot.id, text: text(bot) })
        for (const alert of open) {
          if (alert.kind === kind && !now.some((bot) => bot.id === alert.botKey)) {
            yield* alerts.resolve(kind, alert.botKey)
          }
        }
      })

    const fleetWide = (kind: string, firing: boolean, text: string) =>
      firing ? alerts.raise({ kind, severity: "warning", botId: null, text }) : alerts.resolve(kind, null)

    const run = Effect.gen(function* () {
      const at = new Date(yield* Clock.currentTimeMillis)
      const since = new Date(at.getTime() - WINDOW_MS)
      const open = yield* store.openAlerts
      const stopped = yield* store.stoppedBots
      yield* perBot("bot_stopped", stopped, open, (bot) => `Bot ${bot.name} stopped: ${bot.error}`)
      // Failed replies, and bots whose model key has refused for longer than the pacer's bound
      // (their replies wait rather than fail, so nothing else would tell).
      const failing = yield* store.llmFailingBots(since)
      const stalled = (yield* pacing.stalledBots).filter((bot) => !failing.some((f) => f.id === bot.id))
      const llmFailing = [...failing, ...stalled]
      yield* perBot(
        "llm_failing",
        llmFailing,
        open,
        (bot) => `Bot ${bot.name}: the LLM provider is failing: ${bot.error}`
      )
      // A new month (a fresh counter) or a raised or removed limit resolves it.
      const budgets = yield* store.botBudgets(windowStart("month", at))
      yield* perBot(
        "budget_reached",
        budgets.filter((budget) => budgetReached(budget, at)),
        open,
        (bot) =>
          `Bot ${bot.name} reached its monthly budget: $${bot.spentUsd.toFixed(2)} of $${bot.limitUsd.toFixed(2)}; ` +
          `it answers with its limit message until ${windowEnd("month", at).toISOString()}`,
        "warning"
      )
      const queue = yield* maintenance.leaseHealth
      yield* fleetWide(
        "backlog",
        queue.oldestPendingAgeSeconds > options.queueMaxAgeSeconds,
        `Backlog: ${queue.pending} updates waiting, the oldest for ${Math.round(queue.oldestPendingAgeSeconds)} s`
      )
      // One incident, one alert: the failures of a bot already alerted as stopped or LLM-failing
      // are that alert's, so they do not also count towards the fleet-wide spike.
      const failures = yield* store.failuresSince(
        since,
        [...stopped, ...llmFailing].map((bot) => bot.id)
      )
      yield* fleetWide(
        "failures_spike",
        failures >= FAILURE_SPIKE,
        `${failures} failures in the last 10 minutes`
      )
      return `checked; ${failures} recent failures, ${queue.pending} pending`
    })
    return {
      name: "alerts",
      everySeconds: options.alertsEverySeconds ?? 15,
      timeoutSeconds: 60,
      run
    } satisfies Job
  })

export const digestJob = Effect.gen(function* () {
  const alerts = yield* AlertService
  const store = yield* AlertStore
  const run = Effect.gen(function* () {
    const since = new Date((yield* Clock.currentTimeMillis) - 86_400_000)
    const lines = yield* store.digest(since)
    const text =
      lines.length === 0
        ? "Daily digest: no bots."
        : [
            "Daily digest (last 24 h):",
            ...lines.map(
              (line) =>
                `${line.name}: ${line.replies} replies, ${line.users} users, $${line.costUsd.toFixed(4)}, ${line.errors} errors`
            )
          ].join("\n")
    yield* alerts.broadcast({ kind: "digest", severity: "info", botId: null, text })
    return `digest of ${lines.length} bots`
  })
  return { name: "digest", everySeconds: 86_400, timeoutSeconds: 300, run } satisfies Job
})
