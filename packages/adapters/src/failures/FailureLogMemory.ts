/**
 * The in-memory twin of FailureLogPg: failed messages, inbox updates and
 * outbox effects from the repository and inbox twins' tables, newest first,
 * with the same cursor; and the requeue of an update or an effect. Failed
 * knowledge documents are not listed here: the knowledge twin keeps its own
 * maps, outside this store (their retry goes through KnowledgeRepository and
 * works on both).
 */

import { type Failure, type FailureFilter, FailureLog, type PageRequest } from "@botfleet/application"
import { FailureCursor, pageSize } from "@botfleet/domain"
import { Clock, Effect, Layer, Option, Ref } from "effect"
import { MemoryStore, layer as memoryStoreLayer, type Tables } from "../memory/MemoryStore.ts"
import { InboxMemoryStore, storeLayer as inboxStoreLayer } from "../updateInbox/UpdateInboxMemory.ts"

const payloadOf = (payload: unknown): { readonly _tag?: string; readonly botId?: string | null } =>
  typeof payload === "object" && payload !== null ? payload : {}

/** Newest first, ties by the reference, descending (as `ORDER BY at DESC, ref DESC`). */
const newestFirst = (a: Failure, b: Failure) =>
  b.at.getTime() - a.at.getTime() || (a.ref < b.ref ? 1 : a.ref > b.ref ? -1 : 0)

export const layerNoDeps: Layer.Layer<FailureLog, never, MemoryStore | InboxMemoryStore> = Layer.effect(
  FailureLog,
  Effect.gen(function* () {
    const store = yield* MemoryStore
    const inbox = yield* InboxMemoryStore

    const everyFailure = (tables: Tables): ReadonlyArray<Failure> => [
      ...[...tables.messages.values()]
        .filter((message) => message.status === "failed")
        .map(
          (message): Failure => ({
            ref: `message:${message.id}`,
            kind: "message",
            botId: message.botId,
            chatId: message.chatId,
            error: message.error,
            attempts: null,
            at: message.createdAt,
            summary: message.text.slice(0, 200)
          })
        ),
      ...inbox.updates
        .filter((update) => update.status === "failed")
        .map(
          (update): Failure => ({
            ref: `update:${update.id}`,
            kind: "update",
            botId: update.botId,
            chatId: null,
            error: update.lastError,
            attempts: update.attempts,
            at: update.failedAt ?? update.receivedAt,
            summary: `update ${update.updateId} of chat ${update.chatKey}`
          })
        ),
      ...[...tables.effects.values()]
        .filter((row) => row.status === "failed")
        .map((row): Failure => {
          const payload = payloadOf(row.payload)
          return {
            ref: `effect:${row.id}`,
            kind: "effect",
            botId: payload.botId ?? null,
            chatId: null,
            error: row.lastError,
            attempts: row.attempts,
            at: new Date(row.createdAt),
            summary: payload._tag ?? "unknown"
          }
        })
    ]

    const list = (filter: FailureFilter, page: PageRequest) =>
      Effect.gen(function* () {
        const size = pageSize(page.limit)
        const after = yield* FailureCursor.decodeOrDie(page.cursor)
        const matching = everyFailure(yield* Ref.get(store))
          .filter(
            (failure) =>
              (filter.botId === undefined || failure.botId === filter.botId) &&
              (filter.kind === undefined || failure.kind === filter.kind) &&
              Option.match(after, {
                onNone: () => true,
                onSome: ({ at, ref }) =>
                  failure.at.getTime() < at || (failure.at.getTime() === at && failure.ref < ref)
              })
          )
          .sort(newestFirst)
        const items = matching.slice(0, size)
        const last = items.at(-1)
        return {
          items,
          nextCursor:
            matching.length > size && last !== undefined
              ? FailureCursor.encode({ at: last.at.getTime(), ref: last.ref })
              : null
        }
      })

    const requeueUpdate = (id: number) =>
      Effect.map(Clock.currentTimeMillis, (now) => {
        const update = inbox.updates.find((stored) => stored.id === id)
        if (update === undefined) return "missing" as const
        if (update.status !== "failed") return "not_failed" as const
        Object.assign(update, {
          status: "pending",
          attempts: 0,
          nextAttemptAt: now,
          lastError: null,
          failedAt: null,
          processedAt: null
        })
        return "requeued" as const
      })

    // attempts start again at 0: the runner allows a retried effect its full set of attempts.
    const requeueEffect = (id: number) =>
      Effect.flatMap(Clock.currentTimeMillis, (now) =>
        Ref.modify(store, (tables): ["requeued" | "missing" | "not_failed", Tables] => {
          const row = tables.effects.get(id)
          if (row === undefined) return ["missing", tables]
          if (row.status !== "failed") return ["not_failed", tables]
          const effects = new Map(tables.effects).set(id, {
            ...row,
            status: "pending",
            attempts: 0,
            nextAttemptAt: now
          })
          return ["requeued", { ...tables, effects }]
        })
      )

    return FailureLog.of({ list, requeueUpdate, requeueEffect })
  })
)

/** Shares the tables of the other `layerMemory`s built with it (layers are memoised). */
export const layerMemory: Layer.Layer<FailureLog> = layerNoDeps.pipe(
  Layer.provide(Layer.mergeAll(memoryStoreLayer, inboxStoreLayer))
)
