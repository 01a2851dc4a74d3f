/**
 * The in-memory twin of AlertStorePg: settings and alert state of its own,
 * and each alert's condition read from the repository, inbox and usage twins
 * it is built with.
 */
import {
  type AlertSettings,
  AlertStore,
  type BotBudget,
  type DigestLine,
  defaultAlertSettings,
  type OpenAlert,
  UsageLedger
} from "@botfleet/application"
import type { Message } from "@botfleet/domain"
import { Clock, Effect, Layer, Ref } from "effect"
import { MemoryStore, layer as memoryStoreLayer } from "../memory/MemoryStore.ts"
import { InboxMemoryStore, storeLayer as inboxStoreLayer } from "../updateInbox/UpdateInboxMemory.ts"

interface AlertState extends OpenAlert {
  readonly open: boolean
  readonly lastSentAt: number
}

/** The LLM adapter's errors read "LLM <model> failed (<kind>): …", as AlertStorePg matches them. */
const LLM_FAILURE = /^LLM .* failed \((auth|quota|unavailable|timeout)\)/

const sumCost = (messages: ReadonlyArray<Message>) =>
  messages.reduce((units, message) => units + Math.round(message.costUsd * 1e8), 0) / 1e8

export const layerNoDeps: Layer.Layer<AlertStore, never, MemoryStore | InboxMemoryStore | UsageLedger> =
  Layer.effect(
    AlertStore,
    Effect.gen(function* () {
      const store = yield* MemoryStore
      const inbox = yield* InboxMemoryStore
      const ledger = yield* UsageLedger
      const settings = yield* Ref.make<AlertSettings>(defaultAlertSettings)
      const alerts = yield* Ref.make<ReadonlyMap<string, AlertState>>(new Map())
      const messages = Effect.map(Ref.get(store), (tables) => [...tables.messages.values()])

      const open = (kind: string, botKey: string, text: string, cooldownMinutes: number) =>
        Effect.flatMap(Clock.currentTimeMillis, (now) =>
          Ref.modify(alerts, (current): [boolean, ReadonlyMap<string, AlertState>] => {
            const key = `${kind}|${botKey}`
            const before = current.get(key)
            const due = before === undefined || before.lastSentAt < now - cooldownMinutes * 60_000
            const next: AlertState = {
              kind,
              botKey,
              text,
              open: true,
              lastSentAt: due ? now : (before?.lastSentAt ?? now)
            }
            return [due, new Map(current).set(key, next)]
          })
        )

      const close = (kind: string, botKey: string) =>
        Ref.modify(alerts, (current): [boolean, ReadonlyMap<string, AlertState>] => {
          const key = `${kind}|${botKey}`
          const before = current.get(key)
          if (before === undefined || !before.open) return [false, current]
          return [true, new Map(current).set(key, { ...before, open: false })]
        })

      const openAlerts = Effect.map(Ref.get(alerts), (current) =>
        [...current.values()]
          .filter((alert) => alert.open)
          .map(({ kind, botKey, text }): OpenAlert => ({ kind, botKey, text }))
      )

      const stoppedBots = Effect.map(Ref.get(store), (tables) =>
        [...tables.bots.values()].flatMap((bot) =>
          !bot.active && bot.lastError !== null ? [{ id: bot.id, name: bot.name, error: bot.lastError }] : []
        )
      )

      const failuresSince = (since: Date, except: ReadonlyArray<string>) =>
        Effect.map(
          messages,
          (all) =>
            all.filter(
              (message) =>
                message.status === "failed" && message.createdAt >= since && !except.includes(message.botId)
            ).length +
            inbox.updates.filter(
              (update) =>
                update.status === "failed" &&
                update.failedAt !== null &&
                update.failedAt >= since &&
                !except.includes(update.botId)
            ).length
        )

      const llmFailingBots = (since: Date) =>
        Effect.gen(function* () {
          const tables = yield* Ref.get(store)
          const latest = new Map<string, Message>()
          for (const message of tables.messages.values()) {
            const failing =
              message.status === "failed" &&
              message.role === "assistant" &&
              message.createdAt >= since &&
              LLM_FAILURE.test(message.error ?? "")
            const seen = latest.get(message.botId)
            if (failing && (seen === undefined || seen.createdAt < message.createdAt))
              latest.set(message.botId, message)
          }
          return [...latest.values()].flatMap((message) => {
            const bot = tables.bots.get(message.botId)
            return bot === undefined ? [] : [{ id: bot.id, name: bot.name, error: message.error ?? "" }]
          })
        })

      const digest = (since: Date) =>
        Effect.map(Ref.get(store), (tables) =>
          [...tables.bots.values()]
            .sort((a, b) => (a.name.toLowerCase() < b.name.toLowerCase() ? -1 : 1))
            .map((bot): DigestLine => {
              const recent = [...tables.messages.values()].filter(
                (message) => message.botId === bot.id && message.createdAt >= since
              )
              return {
                botId: bot.id,
                name: bot.name,
                replies: recent.filter((message) => message.role === "assistant" && message.status === "sent")
                  .length,
                users: new Set(
                  recent.flatMap((message) => (message.role === "user" ? [message.tgUserId] : []))
                ).size,
                costUsd: sumCost(recent),
                errors: recent.filter((message) => message.status === "failed").length
              }
            })
        )

      // The bot's month counter, read through the usage twin as UsageLedger.reserve reads it.
      const botBudgets = (monthStart: Date) =>
        Effect.gen(function* () {
          const tables = yield* Ref.get(store)
          const budgets: Array<BotBudget> = []
          for (const bot of tables.bots.values()) {
            const limitUsd = bot.limits.botUsdPerMonth
            if (limitUsd === null) continue
            const usage = yield* ledger.usage(bot.id, null, monthStart)
            budgets.push({ id: bot.id, name: bot.name, limitUsd, spentUsd: usage.botUsdThisMonth })
          }
          return budgets.sort((a, b) => (a.id < b.id ? -1 : 1))
        })

      return AlertStore.of({
        settings: Ref.get(settings),
        saveSettings: (next) => Ref.set(settings, next),
        open,
        close,
        openAlerts,
        stoppedBots,
        failuresSince,
        llmFailingBots,
        digest,
        botBudgets
      })
    })
  )

/**
 * Shares the tables of the other `layerMemory`s built with it (layers are
 * memoised); the UsageLedger is left open so that it is the one the use cases
 * count with (`RepositoriesMemory.layer` gives it).
 */
export const layerMemory: Layer.Layer<AlertStore, never, UsageLedger> = layerNoDeps.pipe(
  Layer.provide(Layer.mergeAll(memoryStoreLayer, inboxStoreLayer))
)
