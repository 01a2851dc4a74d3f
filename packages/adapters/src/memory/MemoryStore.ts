/**
 * The tables of the in-memory repositories, in one Ref so that the twins can
 * keep the rules the database keeps across tables: foreign keys (a defect when
 * broken, as there) and `ON DELETE CASCADE` from bots to chats and messages.
 */
import type { Bot, Chat, Message, Provider, TgUser } from "@botfleet/domain"
import { Context, Layer, Ref } from "effect"

export interface OutboxRow {
  readonly id: number
  /** The encoded effect, as JSON would hold it. */
  readonly payload: unknown
  readonly status: "pending" | "done" | "failed"
  readonly attempts: number
  /** Epoch milliseconds. */
  readonly nextAttemptAt: number
  readonly lastError: string | null
  /** Epoch milliseconds (`created_at`). */
  readonly createdAt: number
}

/** What a message deleted by history retention counted for (`message_tallies`). */
export interface Tally {
  readonly id: string
  readonly botId: string
  readonly chatId: string
  readonly tgUserId: number | null
  readonly role: Message["role"]
  readonly status: Message["status"]
  readonly inputTokens: number
  readonly outputTokens: number
  readonly costUsd: number
  readonly createdAt: Date
  /** A user message: from its arrival to its reply's last chunk, when the reply was sent. */
  readonly latencyMs: number | null
}

export interface Tables {
  readonly bots: ReadonlyMap<string, Bot>
  readonly users: ReadonlyMap<number, TgUser>
  readonly chats: ReadonlyMap<string, Chat>
  readonly messages: ReadonlyMap<string, Message>
  readonly tallies: ReadonlyMap<string, Tally>
  readonly effects: ReadonlyMap<number, OutboxRow>
  readonly lastEffectId: number
  // providers
  readonly providers: ReadonlyMap<string, Provider>
}

export const emptyTables: Tables = {
  bots: new Map(),
  users: new Map(),
  chats: new Map(),
  messages: new Map(),
  tallies: new Map(),
  effects: new Map(),
  lastEffectId: 0,
  providers: new Map()
}

export class MemoryStore extends Context.Service<MemoryStore, Ref.Ref<Tables>>()(
  "@botfleet/adapters/memory/MemoryStore"
) {}

/** Empty tables, fresh for each build of the layer. */
export const layer: Layer.Layer<MemoryStore> = Layer.effect(MemoryStore, Ref.make(emptyTables))

/** A copy of `map` with `key` set: the Ref only ever holds unshared maps. */
export const withEntry = <K, V>(map: ReadonlyMap<K, V>, key: K, value: V): ReadonlyMap<K, V> =>
  new Map(map).set(key, value)

/** Ids of our rows are lowercase UUIDs; Postgres orders uuid by its bytes, which is this order. */
export const compareIds = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0)
