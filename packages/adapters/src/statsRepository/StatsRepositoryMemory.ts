/**
 * The in-memory twin of StatsRepositoryPg: the same numbers from the
 * MemoryStore's tables, live messages and the tallies of deleted ones alike.
 */
import { type DailyStats, StatsRepository, type StatsRequest } from "@botfleet/application"
import { Effect, Layer, Ref } from "effect"
import { compareIds, MemoryStore, layer as memoryStoreLayer, type Tally } from "../memory/MemoryStore.ts"

/** What a stats number reads of a message: a live one or the tally of a deleted one. */
type Fact = Pick<
  Tally,
  | "botId"
  | "chatId"
  | "tgUserId"
  | "role"
  | "status"
  | "inputTokens"
  | "outputTokens"
  | "costUsd"
  | "createdAt"
>

const DAY_MS = 86_400_000

/**
 * Costs are kept to 1e-8 (`numeric(14, 8)`): summed as whole units and divided
 * once, the total is the double nearest the exact sum, as Postgres gives it.
 */
const sumCost = (messages: ReadonlyArray<Fact>): number =>
  messages.reduce((units, message) => units + Math.round(message.costUsd * 1e8), 0) / 1e8

const sumOf = (messages: ReadonlyArray<Fact>, field: (message: Fact) => number): number =>
  messages.reduce((total, message) => total + field(message), 0)

const isIn = (message: Fact) => message.role === "user"
const isOut = (message: Fact) => message.role !== "user" && message.status === "sent"
const isError = (message: Fact) => message.role !== "user" && message.status === "failed"
const isAssistant = (message: Fact) => message.role === "assistant"

const sums = (messages: ReadonlyArray<Fact>) => {
  const generated = messages.filter(isAssistant)
  return {
    messagesIn: messages.filter(isIn).length,
    messagesOut: messages.filter(isOut).length,
    inputTokens: sumOf(generated, (message) => message.inputTokens),
    outputTokens: sumOf(generated, (message) => message.outputTokens),
    costUsd: sumCost(generated),
    errors: messages.filter(isError).length
  }
}

/** `percentile_cont`: linear interpolation between the two nearest ranks. */
const percentile = (sorted: ReadonlyArray<number>, fraction: number): number | null => {
  if (sorted.length === 0) return null
  const position = fraction * (sorted.length - 1)
  const lower = Math.floor(position)
  const below = sorted[lower] ?? 0
  const above = sorted[Math.ceil(position)] ?? below
  return below + (above - below) * (position - lower)
}

/** How many entries each key has, most first, ties to the lower key. */
const ranked = <K>(keys: ReadonlyArray<K>, compare: (a: K, b: K) => number) => {
  const counts = new Map<K, number>()
  for (const key of keys) counts.set(key, (counts.get(key) ?? 0) + 1)
  return [...counts].sort(([a, x], [b, y]) => y - x || compare(a, b))
}

const utcDay = (at: number): string => new Date(at).toISOString().slice(0, 10)

export const layerNoDeps: Layer.Layer<StatsRepository, never, MemoryStore> = Layer.effect(
  StatsRepository,
  Effect.gen(function* () {
    const store = yield* MemoryStore

    const compute = Effect.fn("StatsRepository.compute")(function* (request: StatsRequest) {
      const tables = yield* Ref.get(store)
      const from = request.from.getTime()
      const to = request.to.getTime()
      const top = Math.max(0, Math.trunc(request.top))
      const ofBot = (row: { readonly botId: string }) => request.botId === null || row.botId === request.botId
      const inWindow = (row: { readonly botId: string; readonly createdAt: Date }) =>
        ofBot(row) && row.createdAt.getTime() >= from && row.createdAt.getTime() < to

      const all = [...tables.messages.values()]
      const tallied = [...tables.tallies.values()].filter(inWindow)
      const window: ReadonlyArray<Fact> = [...all.filter(inWindow), ...tallied]
      const incoming = window.filter(isIn)

      // A user's first chat with the bot(s) decides when they were new.
      const firstChat = new Map<number, number>()
      for (const chat of tables.chats.values()) {
        if (chat.tgUserId === null || !ofBot(chat)) continue
        const at = chat.createdAt.getTime()
        firstChat.set(chat.tgUserId, Math.min(at, firstChat.get(chat.tgUserId) ?? at))
      }

      const replies = new Map(
        all.filter((message) => isAssistant(message) && message.replyTo !== null).map((r) => [r.replyTo, r])
      )
      const latencies = all
        .filter((message) => inWindow(message) && isIn(message))
        .flatMap((message) => {
          const reply = replies.get(message.id)
          return reply?.status === "sent" && reply.sentAt !== null
            ? [reply.sentAt.getTime() - message.createdAt.getTime()]
            : []
        })
        .concat(
          tallied.flatMap((tally) => (isIn(tally) && tally.latencyMs !== null ? [tally.latencyMs] : []))
        )
        .sort((a, b) => a - b)

      const byDay = new Map<string, Array<Fact>>()
      for (const message of window) {
        const date = utcDay(message.createdAt.getTime())
        const day = byDay.get(date)
        if (day === undefined) byDay.set(date, [message])
        else day.push(message)
      }
      const series: Array<DailyStats> = []
      for (let day = from - (from % DAY_MS); day < to; day += DAY_MS) {
        series.push({ date: utcDay(day), ...sums(byDay.get(utcDay(day)) ?? []) })
      }

      const topUsers = ranked(
        incoming.flatMap((message) => (message.tgUserId === null ? [] : [message.tgUserId])),
        (a, b) => a - b
      ).flatMap(([telegramId, messages]) => {
        const user = tables.users.get(telegramId)
        return user === undefined
          ? []
          : [{ telegramId, username: user.username, firstName: user.firstName, messages }]
      })

      const topBots = ranked(
        window.filter((message) => isIn(message) || isOut(message)).map((message) => message.botId),
        compareIds
      ).flatMap(([botId, messages]) => {
        const bot = tables.bots.get(botId)
        const cost = sumCost(window.filter((message) => message.botId === botId && isAssistant(message)))
        return bot === undefined ? [] : [{ botId, name: bot.name, messages, costUsd: cost }]
      })

      return {
        ...sums(window),
        activeUsers: new Set(incoming.flatMap((message) => message.tgUserId ?? [])).size,
        newUsers: [...firstChat.values()].filter((at) => at >= from && at < to).length,
        activeChats: new Set(window.map((message) => message.chatId)).size,
        newChats: [...tables.chats.values()].filter(inWindow).length,
        replyLatencyMs: { p50: percentile(latencies, 0.5), p95: percentile(latencies, 0.95) },
        series,
        topUsers: topUsers.slice(0, top),
        topBots: topBots.slice(0, top)
      }
    })

    return StatsRepository.of({ compute })
  })
)

/** On its own tables; `layerMemory`s merged into one build share one MemoryStore (layers are memoised). */
export const layerMemory: Layer.Layer<StatsRepository> = layerNoDeps.pipe(Layer.provide(memoryStoreLayer))
