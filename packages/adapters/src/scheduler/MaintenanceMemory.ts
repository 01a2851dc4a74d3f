/**
 * The in-memory twin of MaintenancePg, on the same tables as the inbox and
 * repository twins: inbox retention, stale leases, the backlog, and history
 * retention that leaves a tally for each deleted message.
 */
import { Maintenance } from "@botfleet/application"
import { Message } from "@botfleet/domain"
import { Clock, Effect, Layer, Ref } from "effect"
import { MemoryStore, layer as memoryStoreLayer, type Tables, type Tally } from "../memory/MemoryStore.ts"
import { InboxMemoryStore, storeLayer as inboxStoreLayer } from "../updateInbox/UpdateInboxMemory.ts"

/** The tally a deleted message leaves, with its reply's latency looked up among `messages`. */
const tallyOf = (message: Message, messages: ReadonlyMap<string, Message>): Tally => {
  const reply =
    message.role === "user"
      ? [...messages.values()].find(
          (other) =>
            other.replyTo === message.id &&
            other.role === "assistant" &&
            other.status === "sent" &&
            other.sentAt !== null
        )
      : undefined
  return {
    id: message.id,
    botId: message.botId,
    chatId: message.chatId,
    tgUserId: message.tgUserId,
    role: message.role,
    status: message.status,
    inputTokens: message.inputTokens,
    outputTokens: message.outputTokens,
    costUsd: message.costUsd,
    createdAt: message.createdAt,
    latencyMs: reply?.sentAt ? reply.sentAt.getTime() - message.createdAt.getTime() : null
  }
}

export const layerNoDeps: Layer.Layer<Maintenance, never, MemoryStore | InboxMemoryStore> = Layer.effect(
  Maintenance,
  Effect.gen(function* () {
    const store = yield* MemoryStore
    const inbox = yield* InboxMemoryStore

    const purgeDoneUpdates = (before: Date, limit: number) =>
      Effect.sync(() => {
        const doomed = inbox.updates
          .filter((update) => update.status === "done" && (update.processedAt ?? Infinity) < before.getTime())
          .sort((a, b) => (a.processedAt ?? 0) - (b.processedAt ?? 0))
          .slice(0, Math.trunc(limit))
        for (const update of doomed) inbox.updates.splice(inbox.updates.indexOf(update), 1)
        return doomed.length
      })

    const clearExpiredLeases = (graceSeconds: number) =>
      Effect.map(Clock.currentTimeMillis, (now) => {
        let cleared = 0
        for (const [key, lease] of inbox.leases) {
          if (lease.expiresAt < now - graceSeconds * 1000) {
            inbox.leases.delete(key)
            cleared++
          }
        }
        return cleared
      })

    const leaseHealth = Effect.map(Clock.currentTimeMillis, (now) => {
      const pending = inbox.updates.filter((update) => update.status === "pending")
      const oldest = Math.min(now, ...pending.map((update) => update.receivedAt.getTime()))
      return {
        expired: [...inbox.leases.values()].filter((lease) => lease.expiresAt < now).length,
        pending: pending.length,
        oldestPendingAgeSeconds: (now - oldest) / 1000
      }
    })

    const retentionBots = Effect.map(Ref.get(store), (tables) =>
      [...tables.bots.values()]
        .flatMap((bot) =>
          bot.historyRetentionDays === null ? [] : [{ botId: bot.id, days: bot.historyRetentionDays }]
        )
        .sort((a, b) => (a.botId < b.botId ? -1 : 1))
    )

    // One Ref.modify: the messages go and their tallies arrive together, as in one statement.
    const purgeMessages = (botId: string, before: Date, limit: number) =>
      Ref.modify(store, (tables): [number, Tables] => {
        const doomed = [...tables.messages.values()]
          .filter((message) => message.botId === botId && message.createdAt < before)
          .sort((a, b) => a.createdAt.getTime() - b.createdAt.getTime())
          .slice(0, Math.trunc(limit))
        if (doomed.length === 0) return [0, tables]
        const gone = new Set<string>(doomed.map((message) => message.id))
        const tallies = new Map(tables.tallies)
        for (const message of doomed) tallies.set(message.id, tallyOf(message, tables.messages))
        const messages = new Map<string, Message>()
        for (const [id, message] of tables.messages) {
          if (gone.has(id)) continue
          // ON DELETE SET NULL: a reply outlives the question it answered.
          const orphan = message.replyTo !== null && gone.has(message.replyTo)
          messages.set(id, orphan ? new Message({ ...message, replyTo: null }) : message)
        }
        return [doomed.length, { ...tables, messages, tallies }]
      })

    return Maintenance.of({ purgeDoneUpdates, clearExpiredLeases, leaseHealth, retentionBots, purgeMessages })
  })
)

/** Shares the tables of the other `layerMemory`s built with it (layers are memoised). */
export const layerMemory: Layer.Layer<Maintenance> = layerNoDeps.pipe(
  Layer.provide(Layer.mergeAll(memoryStoreLayer, inboxStoreLayer))
)
