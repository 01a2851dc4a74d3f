/**
 * Hands chats with due updates to `ChatWorker`s: up to `concurrency` chats at
 * once, each under a lease renewed while it runs. Slots are shared by bot
 * (round robin, see `LeaseShare`), at most `maxChatsPerBot` (a fair share)
 * each; a chat waiting for its bot's send budget or model key is handed back
 * with a "not before" time (`Paced`) instead of holding its slot. Ingress wakes it as soon as
 * an update is stored; otherwise it looks again every `idlePollMs` (updates
 * accepted by another process, retries coming due).
 *
 * Stopping drains: no new chat is claimed, each chat in flight finishes the
 * update it is on and hands its lease back, and whatever is still running
 * after `shutdownGraceMs` is interrupted (its lease handed back too), so
 * another process takes every chat over at once instead of after the lease.
 */
import { hostname } from "node:os"
import { ChatWorker, type LeasedChat, LeaseHeld, UpdateInbox } from "@botfleet/application"
import { Context, Effect, FiberSet, Layer, Queue, Ref, Schedule } from "effect"

export interface DispatcherOptions {
  readonly concurrency: number
  /**
   * Most chats leased by the first look after a short one. A full look is
   * followed by another at once, asking twice as many (up to the free slots),
   * so one process fills its slots in a few looks; but when several processes
   * look at the same moment (a burst stored by each), they start small and
   * share the burst's chats instead of the first one taking them all.
   */
  readonly leaseBatch: number
  readonly leaseSeconds: number
  readonly idlePollMs: number
  readonly shutdownGraceMs: number
  /**
   * Most chats of one bot in flight here. Unset: a fair share, the slots
   * divided by the bots in flight plus one (room for a bot not yet seen), so
   * a bot alone gets half the slots and twenty bots a twenty-first each; with
   * nothing in flight too (the bot about to be leased counts as in flight).
   */
  readonly maxChatsPerBot?: number | undefined
}

export const defaultDispatcherOptions: DispatcherOptions = {
  concurrency: 256,
  leaseBatch: 8,
  leaseSeconds: 15,
  idlePollMs: 250,
  shutdownGraceMs: 25_000
}

export class Dispatcher extends Context.Service<
  Dispatcher,
  {
    /** New work may be waiting: look now instead of at the next poll. */
    readonly wake: Effect.Effect<void>
    /** Claim nothing new; chats in flight stop after their current update. Done when all have. */
    readonly drain: Effect.Effect<void>
  }
>()("@botfleet/server/Dispatcher") {
  static readonly layerWith = (options: DispatcherOptions) =>
    Layer.effect(
      Dispatcher,
      Effect.gen(function* () {
        const inbox = yield* UpdateInbox
        const worker = yield* ChatWorker
        const owner = `${hostname()}:${process.pid}:${Math.random().toString(36).slice(2, 8)}`
        const signal = yield* Queue.sliding<void>(1)
        const workers = yield* FiberSet.make()
        const wake = Queue.offer(signal, undefined).pipe(Effect.asVoid)

        // Chats this process is working on: leased again (after a stall let the lease run
        // out), such a chat must not get a second worker.
        const active = new Set<string>()
        // The same chats, counted by bot: what the look shares slots by.
        const perBot = new Map<string, number>()
        // At least two shares even with no bot in flight: the first look would otherwise let one bot
        // take every slot, leaving none for a bot that comes a moment later.
        const share = () =>
          options.maxChatsPerBot ?? Math.max(1, Math.ceil(options.concurrency / Math.max(2, perBot.size + 1)))
        const count = (botId: string, by: number) => {
          const next = (perBot.get(botId) ?? 0) + by
          if (next <= 0) perBot.delete(botId)
          else perBot.set(botId, next)
        }
        // Between two updates: a bot at twice its share while the slots are (nearly) all taken hands
        // the chat back, so a bot with a backlog gets its share of the slots and no more. Twice:
        // with many bots equally busy each is often one over, and handing back then only cost
        // statements (mixed: 94-172 replies/s handing back at one over, 194-215 never).
        const yieldNow = (botId: string) =>
          Effect.sync(
            () =>
              (perBot.get(botId) ?? 0) > 2 * share() &&
              active.size >= options.concurrency - options.leaseBatch
          )
        let stopping = false
        const renewEvery = Math.max(1, Math.floor(options.leaseSeconds / 3))

        const runChat = ({ chatKey, head }: LeasedChat, leasedAt: number) => {
          // A drain that ends normally has handed the lease back itself.
          let ended = false
          return Effect.gen(function* () {
            // Times are taken before each statement is sent, so they are never later than the
            // database's own `now()` that set the lease's end. A renewal that fails (database
            // trouble) is retried, but time keeps counting.
            const renewedAt = yield* Ref.make(leasedAt)
            const lost = yield* Ref.make(false)
            const renew = Effect.suspend(() => {
              const askedAt = Date.now()
              return inbox
                .renewLease(chatKey, owner, options.leaseSeconds)
                .pipe(Effect.flatMap((held) => (held ? Ref.set(renewedAt, askedAt) : Ref.set(lost, true))))
            }).pipe(Effect.catchCause((cause) => Effect.logWarning("lease renewal failed", cause)))
            yield* Effect.forkScoped(
              renew.pipe(
                Effect.repeat(Schedule.spaced(`${renewEvery} seconds`)),
                Effect.delay(`${renewEvery} seconds`)
              )
            )
            // Surely ours: a renewal period of the lease is left (two renewals would have to fail
            // for it to run out), so a message sent now cannot race another process that took
            // the chat over. Checked before every send.
            const held = Effect.gen(function* () {
              const age = Date.now() - (yield* Ref.get(renewedAt))
              return age < (options.leaseSeconds - renewEvery) * 1000 && !(yield* Ref.get(lost))
            })
            const stillOwner = Effect.map(held, (ours) => ours && !stopping)
            ended =
              (yield* worker
                .drain({ chatKey, owner, head }, stillOwner, yieldNow(head.botId))
                .pipe(Effect.provideService(LeaseHeld, held))) !== "lost"
          }).pipe(
            Effect.scoped,
            // Otherwise (interrupted on shutdown, a defect) it is handed back here, so nobody waits
            // for the lease to run out.
            Effect.ensuring(
              Effect.suspend(() => (ended ? Effect.void : inbox.releaseLease(chatKey, owner))).pipe(
                Effect.ignore
              )
            ),
            Effect.ensuring(
              Effect.sync(() => {
                active.delete(chatKey)
                count(head.botId, -1)
              }).pipe(Effect.andThen(wake))
            ),
            Effect.catchCause((cause) => Effect.logError("chat worker failed", cause)),
            Effect.annotateLogs("chat_key", chatKey)
          )
        }

        // How many the next look asks for: leaseBatch after a short look, doubled after each full one.
        let batch = options.leaseBatch
        const loop = Effect.gen(function* () {
          while (true) {
            // Small after a short look: processes that look at the same moment share a burst's chats
            // instead of the first taking them all (the scale-out test saw one process do all the work
            // with an eighth of 256 slots per look). Doubled after a full one: each look is a statement
            // that reads every pending chat, and on a loaded process took 50-500 ms, so a fixed 8 took
            // 14 s to fill 256 slots with 2,000 chats waiting (slow-model bench).
            const open = options.concurrency - active.size
            const free = stopping ? 0 : Math.min(batch, open)
            let leased = 0
            if (free > 0) {
              const leasedAt = Date.now()
              const chats = yield* inbox.leaseChats(owner, free, options.leaseSeconds, {
                perBot: share(),
                active: perBot
              })
              leased = chats.length
              for (const chat of chats) {
                // Already being worked on here: the renewed lease is all that was needed.
                if (active.has(chat.chatKey)) continue
                active.add(chat.chatKey)
                count(chat.head.botId, 1)
                yield* FiberSet.run(workers, runChat(chat, leasedAt))
              }
            }
            // A full batch means more may be due: look again straight away, for more.
            if (leased === 0 || leased < free) {
              batch = options.leaseBatch
              yield* Queue.take(signal).pipe(Effect.timeoutOption(options.idlePollMs))
            } else batch = Math.min(2 * batch, options.concurrency)
          }
        }).pipe(
          Effect.catchCause((cause) =>
            Effect.logError("dispatcher loop failed; restarting", cause).pipe(
              Effect.andThen(Effect.sleep("1 second"))
            )
          ),
          Effect.forever
        )

        const drain = Effect.gen(function* () {
          if (!stopping)
            yield* Effect.logInfo("draining: no new chats; finishing those in flight", {
              in_flight: active.size
            })
          stopping = true
          yield* FiberSet.awaitEmpty(workers)
        })

        yield* Effect.forkScoped(loop)
        // Runs before the workers are interrupted (finalizers run last added first).
        yield* Effect.addFinalizer(() =>
          drain.pipe(
            Effect.timeoutOption(options.shutdownGraceMs),
            Effect.flatMap((done) =>
              done._tag === "Some"
                ? Effect.logInfo("drained")
                : Effect.logWarning("drain grace ran out; interrupting the chats still in flight", {
                    in_flight: active.size
                  })
            )
          )
        )
        yield* Effect.logInfo("update dispatcher started", { owner, concurrency: options.concurrency })
        return Dispatcher.of({ wake, drain })
      })
    )
}
