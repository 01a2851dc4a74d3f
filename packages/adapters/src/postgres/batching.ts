/**
 * Statements of fibers running at the same moment, made one: each fiber asks
 * with `Effect.request`, and the requests gathered in one turn of the
 * scheduler run as one statement (many rows, one round trip, one commit).
 * A caller inside a transaction gets a batch of its own, so its rows go over
 * its transaction's connection and nobody else's do.
 */
import { Context, Effect, type Request, RequestResolver } from "effect"
import type { NonEmptyArray } from "effect/Array"
import type { SqlClient } from "effect/sql"

export const batchedStatements = <A extends Request.Any>(
  sql: SqlClient.SqlClient,
  options: {
    /** Most requests in one statement (PostgreSQL takes up to 65,535 parameters). */
    readonly maxBatch: number
    readonly runAll: (entries: NonEmptyArray<Request.Entry<A>>) => Effect.Effect<void>
  }
): RequestResolver.RequestResolver<A> =>
  RequestResolver.makeWith<A>({
    batchKey: (entry) => Context.getOrUndefined(entry.context, sql.transactionService),
    delay: Effect.yieldNow,
    collectWhile: (entries) => entries.size < options.maxBatch,
    runAll: options.runAll
  })

/** Completes a request with the outcome of `effect`, success or failure. */
export const completeWith = <A extends Request.Any>(
  entry: Request.Entry<A>,
  effect: Effect.Effect<Request.Success<A>, Request.Error<A>>
): Effect.Effect<void> => Effect.map(Effect.exit(effect), (exit) => entry.completeUnsafe(exit))
