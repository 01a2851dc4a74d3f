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

/** Most requests in one statement: 200 rows of a message's 23 columns stay under PostgreSQL's 65,535 parameters. */
const MAX_BATCH = 200

export const batchedStatements = <A extends Request.Any, K = "all">(
  sql: SqlClient.SqlClient,
  options: {
    /** Requests that can share a statement (say, the same conflict target); all of them when absent. */
    readonly groupOf?: (request: A) => K
    readonly one: (request: A) => Effect.Effect<Request.Success<A>, Request.Error<A>>
    /** One statement for the group; what each request gets, in the order given. */
    readonly many: (
      group: K,
      requests: NonEmptyReadonlyArray<A>
    ) => Effect.Effect<ReadonlyArray<Effect.Effect<Request.Success<A>, Request.Error<A>>>, unknown>
  }
): RequestResolver.RequestResolver<A> => {
  const groupOf = options.groupOf ?? (() => "all" as K)
  const alone = (entry: Request.Entry<A>) => complete(entry, options.one(entry.request))
  const together = (group: K, entries: NonEmptyReadonlyArray<Request.Entry<A>>) =>
    options.many(group, entries.map((entry) => entry.request) as unknown as NonEmptyReadonlyArray<A>).pipe(
      Effect.flatMap((outcomes) =>
        Effect.forEach(entries, (entry, index) => complete(entry, outcomes[index]!), { discard: true })
      ),
      Effect.catchCause(() => Effect.forEach(entries, alone, { discard: true }))
    )
  return RequestResolver.makeWith<A>({
    batchKey: (entry) => Context.getOrUndefined(entry.context, sql.transactionService),
    delay: Effect.yieldNow,
    collectWhile: (entries) => entries.size < MAX_BATCH,
    runAll: (entries) =>
      Effect.forEach(
        groupBy(entries, (entry) => groupOf(entry.request)),
        ([group, members]) =>
          members.length === 1
            ? alone(members[0]!)
            : together(group, members as unknown as NonEmptyReadonlyArray<Request.Entry<A>>),
        { discard: true }
      )
  })
}

/** Completes a request with the outcome of `effect`, success or failure. */
const complete = <A extends Request.Any>(
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
