/** The in-memory twin of EffectOutboxPg; "now" is the Effect Clock, so TestClock drives it. */
import { EffectOutbox, type StoredEffect } from "@botfleet/application"
import { DomainEffect } from "@botfleet/domain"
import { Clock, Effect, Layer, Option, Ref, Schema } from "effect"
import {
  MemoryStore,
  layer as memoryStoreLayer,
  type OutboxRow,
  type Tables,
  withEntry
} from "../memory/MemoryStore.ts"

const encodeEffect = Schema.encodeEffect(DomainEffect)
const decodeEffect = Schema.decodeUnknownOption(DomainEffect)

/** Only pending rows change, as in Postgres: a late report must not reopen a finished effect. */
const updatePending = (tables: Tables, id: number, f: (row: OutboxRow) => OutboxRow): Tables => {
  const row = tables.effects.get(id)
  return row === undefined || row.status !== "pending"
    ? tables
    : { ...tables, effects: withEntry(tables.effects, id, f(row)) }
}

const failed =
  (error: string) =>
  (row: OutboxRow): OutboxRow => ({ ...row, status: "failed", attempts: row.attempts + 1, lastError: error })

export const layerNoDeps: Layer.Layer<EffectOutbox, never, MemoryStore> = Layer.effect(
  EffectOutbox,
  Effect.gen(function* () {
    const store = yield* MemoryStore

    // Stored as JSON would hold them, so an effect that does not survive jsonb fails here too.
    const enqueue = Effect.fn("EffectOutbox.enqueue")(function* (effects: ReadonlyArray<DomainEffect>) {
      const payloads = yield* Effect.forEach(effects, (effect) =>
        Effect.map(encodeEffect(effect), (encoded): unknown => JSON.parse(JSON.stringify(encoded)))
      ).pipe(Effect.orDie)
      const now = yield* Clock.currentTimeMillis
      yield* Ref.update(store, (tables) => {
        const rows = new Map(tables.effects)
        let lastEffectId = tables.lastEffectId
        for (const payload of payloads) {
          lastEffectId += 1
          rows.set(lastEffectId, {
            id: lastEffectId,
            payload,
            status: "pending",
            attempts: 0,
            nextAttemptAt: now,
            createdAt: now,
            lastError: null
          })
        }
        return { ...tables, effects: rows, lastEffectId }
      })
    })

    const claimDue = Effect.fn("EffectOutbox.claimDue")(function* (limit: number, leaseSeconds: number) {
      if (limit <= 0) return []
      const now = yield* Clock.currentTimeMillis
      return yield* Ref.modify(store, (tables): [ReadonlyArray<StoredEffect>, Tables] => {
        const due = [...tables.effects.values()]
          .filter((row) => row.status === "pending" && row.nextAttemptAt <= now)
          .sort((a, b) => a.id - b.id)
          .slice(0, Math.trunc(limit))
        const claimed: Array<StoredEffect> = []
        let next = tables
        for (const row of due) {
          const effect = decodeEffect(row.payload)
          if (Option.isSome(effect)) {
            claimed.push({ id: row.id, effect: effect.value, attempts: row.attempts })
            next = updatePending(next, row.id, (r) => ({ ...r, nextAttemptAt: now + leaseSeconds * 1000 }))
          } else {
            next = updatePending(next, row.id, failed("stored payload is not a known domain effect"))
          }
        }
        return [claimed, next]
      })
    })

    const markDone = Effect.fn("EffectOutbox.markDone")(function* (id: number) {
      yield* Ref.update(store, (tables) => updatePending(tables, id, (row) => ({ ...row, status: "done" })))
    })

    const markFailed = Effect.fn("EffectOutbox.markFailed")(function* (
      id: number,
      error: string,
      retryAt: Date | null
    ) {
      yield* Ref.update(store, (tables) =>
        updatePending(
          tables,
          id,
          retryAt === null
            ? failed(error)
            : (row) => ({
                ...row,
                attempts: row.attempts + 1,
                lastError: error,
                nextAttemptAt: retryAt.getTime()
              })
        )
      )
    })

    return EffectOutbox.of({ enqueue, claimDue, markDone, markFailed })
  })
)

/** On its own tables; `layerMemory`s merged into one build share one MemoryStore (layers are memoised). */
export const layerMemory: Layer.Layer<EffectOutbox> = layerNoDeps.pipe(Layer.provide(memoryStoreLayer))
