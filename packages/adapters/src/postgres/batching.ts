/**
 * Statements of fibers running at the same moment, made one: each fiber asks
 * with `Effect.request`, and the requests gathered in one turn of the
 * scheduler run as one statement per group (many rows, one round trip, one
 * commit). A lone request runs its usual one-row statement. If the statement
 * for many fails, each request runs alone, so one bad row fails only its own
 * request. A caller inside a transaction gets a batch of its own, so its rows
 * go over its transaction's connection and nobody else's do.
 */
import { Context, Effect, type Request, RequestResolver } from "effect"
import type { NonEmptyReadonlyArray } from "effect/Array"
import type { SqlClient } from "effect/sql"

export const batchedStatements = <A extends Request.Any, K>(
  sql: SqlClient.SqlClient,
  options: {
    /** Most requests in one statement (PostgreSQL takes up to 65,535 parameters). */
    readonly maxBatch: number
    /** Requests that can share a statement (say, the same conflict target). */
    readonly groupOf: (request: A) => K
    readonly one: (request: A) => Effect.Effect<Request.Success<A>, Request.Error<A>>
    /** Runs one statement for the group and completes every entry (`completeWith`). */
    readonly many: (
      group: K,
      entries: NonEmptyReadonlyArray<Request.Entry<A>>
    ) => Effect.Effect<void, unknown>
  }
): RequestResolver.RequestResolver<A> => {
  const alone = (entry: Request.Entry<A>) => completeWith(entry, options.one(entry.request))
  return RequestResolver.makeWith<A>({
    batchKey: (entry) => Context.getOrUndefined(entry.context, sql.transactionService),
    delay: Effect.yieldNow,
    collectWhile: (entries) => entries.size < options.maxBatch,
    runAll: (entries) =>
      Effect.forEach(
        groupBy(entries, (entry) => options.groupOf(entry.request)),
        ([group, members]) =>
          members.length === 1
            ? alone(members[0]!)
            : options
                .many(group, members as unknown as NonEmptyReadonlyArray<Request.Entry<A>>)
                .pipe(Effect.catchCause(() => Effect.forEach(members, alone, { discard: true }))),
        { discard: true }
      )
  })
}

/** Completes a request with the outcome of `effect`, success or failure. */
export const completeWith = <A extends Request.Any>(
  entry: Request.Entry<A>,
  effect: Effect.Effect<Request.Success<A>, Request.Error<A>>
): Effect.Effect<void> => Effect.map(Effect.exit(effect), (exit) => entry.completeUnsafe(exit))

const groupBy = <A, K>(items: ReadonlyArray<A>, key: (item: A) => K): Map<K, Array<A>> => {
  const groups = new Map<K, Array<A>>()
  for (const item of items) {
    const k = key(item)
    const group = groups.get(k)
    if (group === undefined) groups.set(k, [item])
    else group.push(item)
  }
  return groups
}
