/** Every storage port on Postgres, for the composition root and the tests. */
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
import type { SqlClient } from "effect/sql"
import * as ProviderRepositoryPg from "../providers/ProviderRepositoryPg.ts"
import * as UsageLedgerPg from "../usageLedger/UsageLedgerPg.ts"
import * as BotRepositoryPg from "./BotRepositoryPg.ts"
import * as ChatRepositoryPg from "./ChatRepositoryPg.ts"
import * as EffectOutboxPg from "./EffectOutboxPg.ts"
import * as MessageRepositoryPg from "./MessageRepositoryPg.ts"
import * as TransactionsPg from "./TransactionsPg.ts"

export const layer: Layer.Layer<
  // UsageLedger: access and limits; ProviderRepository: providers
  | Transactions
  | BotRepository
  | ChatRepository
  | MessageRepository
  | EffectOutbox
  | UsageLedger
  | ProviderRepository,
  never,
  SqlClient.SqlClient
> = Layer.mergeAll(
  TransactionsPg.layer,
  BotRepositoryPg.layer,
  ChatRepositoryPg.layer,
  MessageRepositoryPg.layer,
  EffectOutboxPg.layer,
  UsageLedgerPg.layer,
  ProviderRepositoryPg.layer
)
