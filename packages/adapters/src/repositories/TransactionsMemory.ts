import { Transactions } from "@botfleet/application"
import { Layer } from "effect"

/**
 * Runs the effect as it is. Nothing is rolled back when it fails: writes made
 * before the failure stay, so tests of rollback need the Postgres layers.
 */
export const layerMemory: Layer.Layer<Transactions> = Layer.succeed(
  Transactions,
  Transactions.of({ withTransaction: (effect) => effect })
)
