/** Transactions on the process's SqlClient: repositories used inside join them. */
import { Transactions } from "@botfleet/application"
import { Effect, Layer } from "effect"
import { SqlClient, SqlError } from "effect/sql"
import { dataRefusedOf } from "../postgres/sqlErrors.ts"

export const layer: Layer.Layer<Transactions, never, SqlClient.SqlClient> = Layer.effect(
  Transactions,
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    return Transactions.of({
      // BEGIN/COMMIT failing is infrastructure: a defect, never a domain error.
      withTransaction: (effect) =>
        sql
          .withTransaction(effect)
          .pipe(Effect.catchIf(SqlError.isSqlError, (error) => Effect.die(dataRefusedOf(error) ?? error)))
    })
  })
)
