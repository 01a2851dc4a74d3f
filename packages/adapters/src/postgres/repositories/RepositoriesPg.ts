/** Every storage port on Postgres, for the composition root and the tests. */
import type {
  BotRepository,
  ChatRepository,
  EffectOutbox,
  MessageRepository,
  Transactions
} from "@botfleet/application"
import { Layer } from "effect"
import type { SqlClient } from "effect/sql"
import * as BotRepositoryPg from "./BotRepositoryPg.ts"
import * as ChatRepositoryPg from "./ChatRepositoryPg.ts"
import * as EffectOutboxPg from "./EffectOutboxPg.ts"
import * as MessageRepositoryPg from "./MessageRepositoryPg.ts"
import * as TransactionsPg from "./TransactionsPg.ts"

export const layer: Layer.Layer<
  Transactions | BotRepository | ChatRepository | MessageRepository | EffectOutbox,
  never,
  SqlClient.SqlClient
> = Layer.mergeAll(
  TransactionsPg.layer,
  BotRepositoryPg.layer,
  ChatRepositoryPg.layer,
  MessageRepositoryPg.layer,
  EffectOutboxPg.layer
)
