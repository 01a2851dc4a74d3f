/**
 * The in-memory twin of UsageLedgerPg: the same windows, the same rules (the
 * domain's `checkLimits`), decided atomically inside one Ref.modify.
 */

import { type BotUserUsage, type UsageKey, UsageLedger, type UsageTotals } from "@botfleet/application"
import {
  BOT_USAGE_ROW,
  type BotId,
  type BotLimits,
  checkLimits,
  type LimitCheck,
  type MessageId,
  NO_LIMITS,
  pageSize,
  snapshotOf,
  UserCursor,
  windowsOf
} from "@botfleet/domain"
import { Effect, Layer, Option, Ref } from "effect"
import { MemoryStore, layer as memoryStoreLayer } from "../memory/MemoryStore.ts"

const BOT_ROW = BOT_USAGE_ROW

interface Counter {
  readonly botId: string
  readonly userId: number
  readonly period: "minute" | "day" | "month"
  readonly start: number
  readonly messages: number
  readonly tokens: number
  readonly costUsd: number
  readonly denied: number
}

interface Reservation {
  readonly botId: string
  readonly userId: number
  readonly at: Date
  readonly settled: boolean
}

interface State {
  readonly counters: ReadonlyMap<string, Counter>
  readonly reservations: ReadonlyMap<string, Reservation>
  readonly notices: ReadonlySet<string>
}

const keyOf = (botId: string, userId: number, period: string, start: number) =>
  `${botId}|${userId}|${period}|${start}`

const counterOf = (state: State, botId: string, userId: number, period: Counter["period"], start: Date) =>
  state.counters.get(keyOf(botId, userId, period, start.getTime())) ?? {
    botId,
    userId,
    period,
    start: start.getTime(),
    messages: 0,
    tokens: 0,
    costUsd: 0,
    denied: 0
  }

const withCounter = (counters: ReadonlyMap<string, Counter>, counter: Counter) =>
  new Map(counters).set(keyOf(counter.botId, counter.userId, counter.period, counter.start), counter)

const rowsAt = (state: State, botId: string, userId: number | null, at: Date) => {
  const w = windowsOf(at)
  const user =
    userId === null
      ? []
      : [
          counterOf(state, botId, userId, "minute", w.minute),
          counterOf(state, botId, userId, "day", w.day),
          counterOf(state, botId, userId, "month", w.month)
        ]
  return [...user, counterOf(state, botId, BOT_ROW, "month", w.month)]
}

const totalsOf = (counter: Counter): UsageTotals => ({
  messages: counter.messages,
  tokens: counter.tokens,
  costUsd: counter.costUsd,
  denied: counter.denied
})

/** Needs the MemoryStore shared with the repositories (for the users of a bot). */
export const layerNoDeps: Layer.Layer<UsageLedger, never, MemoryStore> = Layer.effect(
  UsageLedger,
  Effect.gen(function* () {
    const tables = yield* MemoryStore
    const state = yield* Ref.make<State>({ counters: new Map(), reservations: new Map(), notices: new Set() })

    const reserve = (key: UsageKey, limits: BotLimits, at: Date) =>
      Ref.modify(state, (current): [LimitCheck, State] => {
        if (current.reservations.has(key.messageId)) return [{ _tag: "WithinLimits" }, current]
        const rows = rowsAt(current, key.botId, key.userId, at)
        const check = checkLimits(limits, snapshotOf(rows, key.userId), at, key.userId !== null)
        if (check._tag === "OverLimit") return [check, current]
        let counters = current.counters
        for (const row of rows) counters = withCounter(counters, { ...row, messages: row.messages + 1 })
        const reservations = new Map(current.reservations).set(key.messageId, {
          botId: key.botId,
          userId: key.userId ?? BOT_ROW,
          at,
          settled: false
        })
        return [check, { ...current, counters, reservations }]
      })

    const settle = (messageId: MessageId, usage: { readonly tokens: number; readonly costUsd: number }) =>
      Ref.update(state, (current) => {
        const reservation = current.reservations.get(messageId)
        if (reservation === undefined || reservation.settled) return current
        const w = windowsOf(reservation.at)
        const rows = [
          ...(reservation.userId === BOT_ROW
            ? []
            : [
                counterOf(current, reservation.botId, reservation.userId, "day", w.day),
                counterOf(current, reservation.botId, reservation.userId, "month", w.month)
              ]),
          counterOf(current, reservation.botId, BOT_ROW, "month", w.month)
        ]
        let counters = current.counters
        for (const row of rows)
          counters = withCounter(counters, {
            ...row,
            tokens: row.tokens + usage.tokens,
            costUsd: row.costUsd + usage.costUsd
          })
        const reservations = new Map(current.reservations).set(messageId, { ...reservation, settled: true })
        return { ...current, counters, reservations }
      })

    const record = (key: UsageKey, spent: { readonly tokens: number; readonly costUsd: number }, at: Date) =>
      Effect.andThen(reserve(key, NO_LIMITS, at), settle(key.messageId, spent))

    const addCost = (
      key: { readonly botId: BotId; readonly userId: number | null },
      costUsd: number,
      at: Date
    ) =>
      Ref.update(state, (current) => {
        const w = windowsOf(at)
        const rows = [
          ...(key.userId === null
            ? []
            : [
                counterOf(current, key.botId, key.userId, "day", w.day),
                counterOf(current, key.botId, key.userId, "month", w.month)
              ]),
          counterOf(current, key.botId, BOT_ROW, "month", w.month)
        ]
        let counters = current.counters
        for (const row of rows) counters = withCounter(counters, { ...row, costUsd: row.costUsd + costUsd })
        return { ...current, counters }
      })

    const recordDenied = (botId: BotId, userId: number | null, at: Date) =>
      Ref.update(state, (current) => {
        const w = windowsOf(at)
        const rows = [
          ...(userId === null
            ? []
            : [
                counterOf(current, botId, userId, "day", w.day),
                counterOf(current, botId, userId, "month", w.month)
              ]),
          counterOf(current, botId, BOT_ROW, "day", w.day)
        ]
        let counters = current.counters
        for (const row of rows) counters = withCounter(counters, { ...row, denied: row.denied + 1 })
        return { ...current, counters }
      })

    const claimNotice = (botId: BotId, userId: number | null, kind: string, start: Date) =>
      Ref.modify(state, (current): [boolean, State] => {
        const key = `${botId}|${userId ?? BOT_ROW}|${kind}|${start.getTime()}`
        if (current.notices.has(key)) return [false, current]
        return [true, { ...current, notices: new Set(current.notices).add(key) }]
      })

    const usage = (botId: BotId, userId: number | null, at: Date) =>
      Effect.map(Ref.get(state), (current) => snapshotOf(rowsAt(current, botId, userId, at), userId))

    const listUsers = (
      botId: BotId,
      at: Date,
      page: { readonly limit: number; readonly cursor?: string | undefined }
    ) =>
      Effect.gen(function* () {
        const current = yield* Ref.get(state)
        const store = yield* Ref.get(tables)
        const ids = new Set<number>()
        for (const chat of store.chats.values())
          if (chat.botId === botId && chat.tgUserId !== null) ids.add(chat.tgUserId)
        for (const counter of current.counters.values())
          if (counter.botId === botId && counter.userId !== BOT_ROW) ids.add(counter.userId)
        const after = Option.getOrElse(yield* UserCursor.decodeOrDie(page.cursor), () => -1)
        const size = pageSize(page.limit)
        const sorted = [...ids].filter((id) => id > after).sort((a, b) => a - b)
        const w = windowsOf(at)
        const items = sorted.slice(0, size).map((id): BotUserUsage => {
          const user = store.users.get(id)
          return {
            telegramId: id,
            firstName: user?.firstName ?? "",
            username: user?.username ?? null,
            today: totalsOf(counterOf(current, botId, id, "day", w.day)),
            thisMonth: totalsOf(counterOf(current, botId, id, "month", w.month))
          }
        })
        return {
          items,
          nextCursor: sorted.length > size ? UserCursor.encode(items[items.length - 1]!.telegramId) : null
        }
      })

    const deniedBetween = (botId: BotId | null, from: Date, to: Date) =>
      Effect.map(Ref.get(state), (current) => {
        const first = windowsOf(from).day.getTime()
        let total = 0
        for (const counter of current.counters.values()) {
          const inWindow = counter.start >= first && counter.start < to.getTime()
          if (
            counter.userId === BOT_ROW &&
            counter.period === "day" &&
            inWindow &&
            (botId === null || counter.botId === botId)
          )
            total += counter.denied
        }
        return total
      })

    return UsageLedger.of({
      reserve,
      record,
      settle,
      addCost,
      recordDenied,
      claimNotice,
      usage,
      listUsers,
      deniedBetween
    })
  })
)

export const layerMemory: Layer.Layer<UsageLedger> = layerNoDeps.pipe(Layer.provide(memoryStoreLayer))
