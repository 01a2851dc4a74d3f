/** Every storage port in memory, on one set of tables that lives as long as the layer. */
import type {
  BotRepository,
  ChatRepository,
  EffectOutbox,
  MessageRepository,
  Transactions
} from "@botfleet/application"
import { Layer } from "effect"
import * as BotRepositoryMemory from "./BotRepositoryMemory.ts"
import * as ChatRepositoryMemory from "./ChatRepositoryMemory.ts"
import * as EffectOutboxMemory from "./EffectOutboxMemory.ts"
import * as MemoryStore from "./MemoryStore.ts"
import * as MessageRepositoryMemory from "./MessageRepositoryMemory.ts"
import * as TransactionsMemory from "./TransactionsMemory.ts"

export const layer: Layer.Layer<
  Transactions | BotRepository | ChatRepository | MessageRepository | EffectOutbox
> = Layer.mergeAll(
  TransactionsMemory.layerMemory,
  Layer.mergeAll(
    BotRepositoryMemory.layerNoDeps,
    ChatRepositoryMemory.layerNoDeps,
    MessageRepositoryMemory.layerNoDeps,
    EffectOutboxMemory.layerNoDeps
  ).pipe(Layer.provide(MemoryStore.layer))
)
