/**
 * Work that runs concurrently across keys and in order within one: a task
 * waits for the one submitted before it with the same key, then for one of
 * `concurrency` permits. So a slow task holds up only its own lane.
 */
import { Deferred, Effect, type Fiber, type Scope, Semaphore } from "effect"

export interface Lanes {
  /** Starts `task` after the earlier tasks of `key`; the fiber ends when the task does. */
  readonly submit: (key: string, task: Effect.Effect<void>) => Effect.Effect<Fiber.Fiber<void>>
}

/** Lanes whose fibers live as long as the current scope. */
export const makeLanes = (concurrency: number): Effect.Effect<Lanes, never, Scope.Scope> =>
  Effect.gen(function* () {
    const scope = yield* Effect.scope
    const permits = yield* Semaphore.make(concurrency)
    // The last task of each busy key; a new task waits for it.
    const tails = new Map<string, Deferred.Deferred<void>>()

    const submit = (key: string, task: Effect.Effect<void>) =>
      Effect.gen(function* () {
        const previous = tails.get(key)
        const done = yield* Deferred.make<void>()
        tails.set(key, done)
        const finish = Effect.sync(() => {
          if (tails.get(key) === done) tails.delete(key)
        }).pipe(Effect.andThen(Deferred.succeed(done, undefined)))
        const run = Effect.gen(function* () {
          if (previous !== undefined) yield* Deferred.await(previous)
          yield* permits.withPermits(1)(task)
        }).pipe(
          // A defect in one task must not stop its lane: the next ones still run.
          Effect.catchCause((cause) => Effect.logError("lane task failed", { lane: key }, cause)),
          Effect.ensuring(finish)
        )
        return yield* Effect.forkIn(run, scope)
      })

    return { submit }
  })
