/**
 * The update inbox in memory, for use-case tests: same ordering, dedup and
 * lease rules as the PostgreSQL one, with time from Effect's Clock. Its
 * tables are a service of their own, so the maintenance and failure twins
 * read and change the same updates and leases.
 */
import type { InboundUpdate, LeasedChat, LeaseShare, PageRequest, PendingUpdate } from "@botfleet/application"
import { UpdateInbox } from "@botfleet/application"
import type { BotId } from "@botfleet/domain"
import { pageSize, SerialCursor } from "@botfleet/domain"
import { Clock, Context, Effect, Layer, Option, Ref } from "effect"
import { MemoryStore, layer as memoryStoreLayer } from "../memory/MemoryStore.ts"

export interface StoredUpdate extends Omit<PendingUpdate, "attempts" | "settingsVersion"> {
  attempts: number
  status: "pending" | "done" | "failed"
  nextAttemptAt: number
  lastError: string | null
  failedAt: Date | null
  /** Epoch milliseconds of markDone (`processed_at`). */
  processedAt: number | null
}

export interface InboxTables {
  readonly updates: Array<StoredUpdate>
  readonly leases: Map<string, { owner: string; expiresAt: number }>
  nextId: number
  /**
   * No trigger here moves a version when a bot changes: each update handed
   * out carries a new one, so what the pipeline cached is always read again.
   */
  settingsVersion: number
}

export class InboxMemoryStore extends Context.Service<InboxMemoryStore, InboxTables>()(
  "@botfleet/adapters/inbox/InboxMemoryStore"
) {}

/** Empty tables, fresh for each build; twins merged into one build share them (layers are memoised). */
export const storeLayer: Layer.Layer<InboxMemoryStore> = Layer.effect(
  InboxMemoryStore,
  Effect.sync((): InboxTables => ({ updates: [], leases: new Map(), nextId: 1, settingsVersion: 1 }))
)

export const layerNoDeps: Layer.Layer<UpdateInbox, never, InboxMemoryStore | MemoryStore> = Layer.effect(
  UpdateInbox,
  Effect.gen(function* () {
    const tables = yield* InboxMemoryStore
    // The bots' table, for their maxConcurrentChats (a bot not there has no cap).
    const store = yield* MemoryStore
    const { updates, leases } = tables

    const pendingOf = (chatKey: string) =>
      updates
        .filter((update) => update.chatKey === chatKey && update.status === "pending")
        .sort((a, b) => a.updateId - b.updateId)

    const handOut = (update: StoredUpdate): PendingUpdate => ({
      ...update,
      settingsVersion: ++tables.settingsVersion
    })

    // Whether a bot is still active is for the caller (webhook, poller) to check.
    const accept = (update: InboundUpdate) =>
      Effect.map(Clock.currentTimeMillis, (now) => {
        if (updates.some((stored) => stored.botId === update.botId && stored.updateId === update.updateId)) {
          return "duplicate" as const
        }
        updates.push({
          ...update,
          id: tables.nextId++,
          attempts: 0,
          receivedAt: new Date(now),
          status: "pending",
          nextAttemptAt: now,
          lastError: null,
          failedAt: null,
          processedAt: null
        })
        return "accepted" as const
      })

    // The same order as the PostgreSQL statement: by turn (a bot's n-th due chat, counting those in
    // flight), then oldest due first, none past perBot or the bot's own lower cap; without a
    // share, oldest due first.
    const leaseChats = (owner: string, limit: number, leaseSeconds: number, share?: LeaseShare) =>
      Effect.map(Effect.zip(Clock.currentTimeMillis, Ref.get(store)), ([now, { bots }]) => {
        const capOf = (botId: string) => bots.get(botId)?.maxConcurrentChats ?? Number.POSITIVE_INFINITY
        const keys = [
          ...new Set(updates.filter((update) => update.status === "pending").map((update) => update.chatKey))
        ]
        const free: Array<{ key: string; head: StoredUpdate; turn: number }> = []
        for (const key of keys) {
          const head = pendingOf(key)[0]
          const lease = leases.get(key)
          if (!head || head.nextAttemptAt > now || (lease && lease.expiresAt >= now)) continue
          free.push({ key, head, turn: 1 })
        }
        free.sort((a, b) => a.head.nextAttemptAt - b.head.nextAttemptAt || a.head.id - b.head.id)
        if (share !== undefined) {
          const seen = new Map<string, number>()
          for (const entry of free) {
            const rank = (seen.get(entry.head.botId) ?? 0) + 1
            seen.set(entry.head.botId, rank)
            entry.turn = rank + (share.active.get(entry.head.botId) ?? 0)
          }
          free.sort((a, b) => a.turn - b.turn || a.head.nextAttemptAt - b.head.nextAttemptAt)
        }
        const leased: Array<LeasedChat> = []
        for (const { key, head, turn } of free) {
          if (leased.length >= limit) break
          if (share !== undefined && turn > Math.min(share.perBot, capOf(head.botId))) continue
          leases.set(key, { owner, expiresAt: now + leaseSeconds * 1000 })
          leased.push({ chatKey: key, head: handOut(head) })
        }
        return leased
      })

    const renewLease = (chatKey: string, owner: string, leaseSeconds: number) =>
      Effect.map(Clock.currentTimeMillis, (now) => {
        const lease = leases.get(chatKey)
        if (!lease || lease.owner !== owner) return false
        lease.expiresAt = now + leaseSeconds * 1000
        return true
      })

    const releaseLease = (chatKey: string, owner: string) =>
      Effect.sync(() => {
        if (leases.get(chatKey)?.owner === owner) leases.delete(chatKey)
      })

    const nextDue = (chatKey: string) =>
      Effect.map(Clock.currentTimeMillis, (now) => {
        const head = pendingOf(chatKey)[0]
        return head && head.nextAttemptAt <= now ? Option.some(handOut(head)) : Option.none()
      })

    const change = (id: number, f: (update: StoredUpdate, now: number) => void) =>
      Effect.map(Clock.currentTimeMillis, (now) => {
        const update = updates.find((stored) => stored.id === id)
        if (update) f(update, now)
      })

    const requeue = (botId: string, updateId: number) =>
      Effect.map(Clock.currentTimeMillis, (now) => {
        const update = updates.find((stored) => stored.botId === botId && stored.updateId === updateId)
        if (!update) return false
        Object.assign(update, {
          status: "pending",
          attempts: 0,
          nextAttemptAt: now,
          lastError: null,
          failedAt: null
        })
        return true
      })

    const markDone = (id: number) =>
      change(id, (update, now) => {
        update.status = "done"
        update.attempts++
        update.processedAt = now
      })

    return UpdateInbox.of({
      requeue,
      accept,
      leaseChats,
      renewLease,
      releaseLease,
      nextDue,
      markDone,
      postpone: (id, chatKey, owner, at) =>
        Effect.andThen(
          change(id, (update) => {
            update.nextAttemptAt = at.getTime()
          }),
          releaseLease(chatKey, owner)
        ),
      markDoneAndNext: (id, chatKey, owner) =>
        Effect.andThen(
          markDone(id),
          // Only while the lease is still ours, as in PostgreSQL.
          Effect.suspend(() =>
            leases.get(chatKey)?.owner === owner ? nextDue(chatKey) : Effect.succeed(Option.none())
          )
        ).pipe(Effect.tap((next) => (Option.isNone(next) ? releaseLease(chatKey, owner) : Effect.void))),
      reschedule: (id, error, retryAt) =>
        change(id, (update) => {
          update.attempts++
          update.lastError = error
          update.nextAttemptAt = retryAt.getTime()
        }),
      markFailed: (id, error) =>
        change(id, (update, now) => {
          update.status = "failed"
          update.attempts++
          update.lastError = error
          update.failedAt = new Date(now)
        }),
      listFailed: (filter: { readonly botId?: BotId | undefined }, page: PageRequest) =>
        Effect.sync(() => {
          const size = pageSize(page.limit)
          const after = SerialCursor.decode(page.cursor)
          const failed = updates
            .filter(
              (update) =>
                update.status === "failed" &&
                (filter.botId === undefined || update.botId === filter.botId) &&
                (Option.isNone(after) || update.id < after.value)
            )
            .sort((a, b) => b.id - a.id)
          const items = failed.slice(0, size).map((update) => ({
            id: update.id,
            botId: update.botId,
            updateId: update.updateId,
            error: update.lastError,
            attempts: update.attempts,
            receivedAt: update.receivedAt,
            failedAt: update.failedAt
          }))
          const last = items[items.length - 1]
          return { items, nextCursor: failed.length > size && last ? SerialCursor.encode(last.id) : null }
        }),
      stats: Effect.map(Clock.currentTimeMillis, (now) => {
        const pending = updates.filter((update) => update.status === "pending")
        const oldest = Math.min(now, ...pending.map((update) => update.receivedAt.getTime()))
        return {
          pending: pending.length,
          oldestPendingAgeSeconds: (now - oldest) / 1000,
          failed: updates.filter((update) => update.status === "failed").length
        }
      })
    })
  })
)

/** Shares the bots of the repository twins built with it (layers are memoised). */
export const layerMemory: Layer.Layer<UpdateInbox> = layerNoDeps.pipe(
  Layer.provide(Layer.merge(storeLayer, memoryStoreLayer))
)
