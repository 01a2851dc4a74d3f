/** Every storage port in memory, on one set of tables that lives as long as the layer. */
import type {
  BotRepository,
  ChatRepository,
  EffectOutbox,
  MessageRepository,
  ProviderRepository,
  Transactions,
  UsageLedger
} from "@botfleet/application"
import { Layer } from "effect"
import * as MemoryStore from "../memory/MemoryStore.ts"
import * as ProviderRepositoryMemory from "../providers/ProviderRepositoryMemory.ts"
import * as UsageLedgerMemory from "../usageLedger/UsageLedgerMemory.ts"
import * as BotRepositoryMemory from "./BotRepositoryMemory.ts"
import * as ChatRepositoryMemory from "./ChatRepositoryMemory.ts"
import * as EffectOutboxMemory from "./EffectOutboxMemory.ts"
import * as MessageRepositoryMemory from "./MessageRepositoryMemory.ts"
import * as TransactionsMemory from "./TransactionsMemory.ts"

export const layer: Layer.Layer<
  // UsageLedger: access and limits; ProviderRepository: providers
  | Transactions
  | BotRepository
  | ChatRepository
  | MessageRepository
  | EffectOutbox
  | UsageLedger
  | ProviderRepository
> = Layer.mergeAll(
  TransactionsMemory.layerMemory,
  Layer.mergeAll(
    BotRepositoryMemory.layerNoDeps,
    ChatRepositoryMemory.layerNoDeps,
    MessageRepositoryMemory.layerNoDeps,
    EffectOutboxMemory.layerNoDeps,
    UsageLedgerMemory.layerNoDeps,
    ProviderRepositoryMemory.layerNoDeps
  ).pipe(Layer.provide(MemoryStore.layer))
)
