/**
 * Long polling for active bots when there is no PUBLIC_URL. Each bot has one
 * loop: fetch, store in the inbox, then advance the stored offset, so a
 * restart neither loses updates (offset moves only after storing) nor repeats
 * them (the inbox drops a second copy of an update id).
 *
 * A loop reads its bot and decrypts the token once, then keeps the token and
 * the offset it stored itself: at rest a round is one held getUpdates and
 * nothing else, and an empty answer does not even come back here: the poll
 * client asks again by itself (`untilUpdates`). A bot at rest has no fiber
 * either: its poll is held by `watchUpdates`, whose answer starts a fiber that
 * stores the updates (or handles the failure) and holds the next poll the same
 * way. A fiber held per bot was most of the poller's memory at 10,000 bots
 * (~9 KB of closures and continuations each). With 10,000 bots a database read and a decryption per round
 * were most of the CPU at rest (docs/benchmarks.md, polling fleet). A token an
 * admin replaces is picked up by the reconcile (the stored ciphertext
 * changed: the loop starts again) or, if Telegram refuses the old one first,
 * by `BotAccess.stop`, which reads the bot again before stopping it.
 */
import {
  acceptUpdate,
  BotAccess,
  BotRepository,
  BotService,
  type BotUnavailable,
  type BotWithToken,
  matchTelegramFailure,
  type SecretUnreadable,
  spanFn,
  type TelegramError,
  TelegramGateway,
  type Token,
  type UpdateInbox
} from "@botfleet/application"
import type { BotId, BotNotFound } from "@botfleet/domain"
import { Cause, Clock, Duration, Effect, Exit, FiberMap, Layer, Schedule, Semaphore } from "effect"
import { Dispatcher } from "../processing/Dispatcher.ts"

export interface PollerOptions {
  readonly longPollSeconds: number
  readonly reconcileEvery: Duration.Input
}

/**
 * 50 s is the longest poll Telegram holds (it answers a longer timeout after
 * 50 s); half the rounds of 25 s at the same latency, since a held poll
 * answers as soon as an update comes.
 */
export const defaultPollerOptions: PollerOptions = { longPollSeconds: 50, reconcileEvery: "5 seconds" }

/** The reconcile lists every active bot at least this often, changed or not: a safety net. */
const FULL_RECONCILE_MILLIS = 60_000

/** Loops reading their bot at the same time: 10,000 starting at once would queue 10,000 reads. */
const STARTING_AT_ONCE = 16

/**
 * What a loop polls with: the token, the ciphertext it came from (for the reconcile to
 * see a replaced token), the offset it stored last, the timeout of its next poll. Not the
 * whole bot: 10,000 loops would each keep every setting of their bot for nothing.
 */
interface Polling {
  readonly id: BotId
  token: Token
  tokenCiphertext: string
  offset: number
  timeoutSeconds: number
}

/**
 * One bot's loop: its state once its bot is read, and the poll it holds without a
 * fiber, if any. A loop that is no longer the bot's entry in `loops` was stopped or
 * replaced: whatever it was doing ends at its next step.
 */
interface Loop {
  state: Polling | undefined
  release: (() => void) | undefined
  /** Failed polls in a row, for the backoff. */
  failures: number
}

const pollingOf = (loaded: BotWithToken, offset: number, timeoutSeconds: number): Polling => ({
  id: loaded.bot.id,
  token: loaded.token,
  tokenCiphertext: loaded.bot.tokenCiphertext,
  offset: Math.max(offset, loaded.bot.pollingOffset),
  timeoutSeconds
})

export const layerWith = (options: PollerOptions) =>
  Layer.effectDiscard(
    Effect.gen(function* () {
      const bots = yield* BotRepository
      const botService = yield* BotService
      const access = yield* BotAccess
      const telegram = yield* TelegramGateway
      const dispatcher = yield* Dispatcher
      // The fibers of loops doing something (reading their bot, storing updates, backing
      // off); a loop at rest has none.
      const pollers = yield* FiberMap.make<BotId>()
      // Starts a fiber for a loop from a poll's answer, with this layer's services.
      const run = yield* FiberMap.runtime(pollers)<UpdateInbox>()
      // Every running loop, at rest or not: what the reconcile checks.
      const loops = new Map<BotId, Loop>()
      const starting = yield* Semaphore.make(STARTING_AT_ONCE)
      const fn = yield* spanFn

      // The bots' change version at the last full reconcile, and whether a loop ended since.
      const listed = { version: Number.NaN, at: 0, stale: true }

      const isCurrent = (botId: BotId, loop: Loop) => loops.get(botId) === loop

      /** Stops a loop: lets go of its held poll and interrupts its fiber, if any. */
      const stop = (botId: BotId) =>
        Effect.suspend(() => {
          const loop = loops.get(botId)
          loops.delete(botId)
          loop?.release?.()
          return FiberMap.remove(pollers, botId)
        })
      yield* Effect.addFinalizer(() =>
        Effect.sync(() => {
          for (const loop of loops.values()) loop.release?.()
          loops.clear()
        })
      )

      /** Stores polled updates and advances the offset; returns how many there were. */
      const store = fn("Poller.store")(function* (
        botId: BotId,
        state: Polling,
        updates: ReadonlyArray<unknown>
      ) {
        let highest = -1
        for (const polled of updates) {
          // Stored even with a problem (Telegram would hand it out again otherwise): the
          // pipeline parks it as failed, where admins see why.
          const received = telegram.readUpdate(polled)
          const updateId = received.updateId
          if (updateId === undefined) continue
          // Each polled update starts its own trace, continued when it is processed.
          yield* acceptUpdate({
            botId,
            update: received.update,
            payload: received.payload,
            source: "polling"
          }).pipe(
            Effect.withSpan("Poller.receive", {
              root: true,
              attributes: { "bot.id": botId, "update.id": updateId }
            })
          )
          highest = Math.max(highest, updateId)
        }
        if (highest >= 0) {
          yield* bots.setPollingOffset(botId, highest + 1)
          state.offset = highest + 1
          yield* dispatcher.wake
        }
        return updates.length
      })

      const pollOptions = (state: Polling) => ({
        offset: state.offset,
        timeoutSeconds: state.timeoutSeconds,
        limit: 100,
        untilUpdates: { timeoutSeconds: options.longPollSeconds }
      })

      /** Telegram refused the token: stop the bot, unless an admin has put in a new token meanwhile. */
      const refused = (botId: BotId, state: Polling, reason: string) =>
        access.stop(state, reason).pipe(
          Effect.catchTag("RetryLater", () =>
            access.load(botId).pipe(
              Effect.map((loaded) => {
                const fresh = pollingOf(loaded, state.offset, state.timeoutSeconds)
                state.token = fresh.token
                state.tokenCiphertext = fresh.tokenCiphertext
                state.offset = fresh.offset
                return 0
              })
            )
          )
        )

      /** A failed poll: a refused token stops the bot; anything else is the caller's to back off from. */
      const failed = (
        botId: BotId,
        state: Polling,
        error: TelegramError
      ): Effect.Effect<number, TelegramError | BotNotFound | BotUnavailable | SecretUnreadable> => {
        const handled: Effect.Effect<
          number,
          TelegramError | BotNotFound | BotUnavailable | SecretUnreadable
        > = matchTelegramFailure(error, {
          stopBot: (reason) => refused(botId, state, reason),
          // Backed off and tried again: a poll has nothing to give up on.
          retry: () => Effect.fail(error),
          giveUp: () => Effect.fail(error)
        })
        return handled.pipe(
          Effect.tapError((error) =>
            error._tag === "TelegramError"
              ? Effect.logWarning("polling failed; backing off", { bot_id: botId, error: error.message })
              : Effect.void
          )
        )
      }

      /** How a loop's fiber ends: a deleted or refused bot ends the loop; nothing else escapes it. */
      const ending =
        (botId: BotId, loop: Loop) =>
        (
          effect: Effect.Effect<void, BotNotFound | BotUnavailable | SecretUnreadable, UpdateInbox>
        ): Effect.Effect<void, never, UpdateInbox> =>
          effect.pipe(
            Effect.catchTags({
              // Deleted, or stopped because Telegram refused its token: the loop ends.
              BotNotFound: () => forget(botId, loop),
              BotUnavailable: () => forget(botId, loop),
              SecretUnreadable: (error) =>
                forget(botId, loop).pipe(Effect.andThen(botService.stop(botId, error.message)), Effect.ignore)
            }),
            Effect.catchCause((cause) =>
              // Interrupted: stopped or replaced, by whoever took the loop out of `loops`.
              Cause.hasInterruptsOnly(cause)
                ? Effect.void
                : forget(botId, loop).pipe(
                    Effect.andThen(Effect.logError("polling stopped unexpectedly", cause))
                  )
            ),
            Effect.annotateLogs("bot_id", botId)
          )

      /** The loop ends by itself: the reconcile starts it again if its bot is still active. */
      const forget = (botId: BotId, loop: Loop) =>
        Effect.sync(() => {
          if (!isCurrent(botId, loop)) return
          loops.delete(botId)
          listed.stale = true
        })

      /** Holds the next poll without a fiber; its answer runs `answered` on one. */
      const rest = (botId: BotId, loop: Loop, state: Polling) => {
        if (!isCurrent(botId, loop)) return
        loop.release = telegram.watchUpdates(state.token, pollOptions(state), (answer) => {
          loop.release = undefined
          if (!isCurrent(botId, loop)) return
          run(botId, answered(botId, loop, state, answer))
        })
      }

      const answered = (
        botId: BotId,
        loop: Loop,
        state: Polling,
        answer: Exit.Exit<ReadonlyArray<unknown>, TelegramError>
      ): Effect.Effect<void, never, UpdateInbox> =>
        Effect.suspend(() => {
          state.timeoutSeconds = options.longPollSeconds
          if (Exit.isSuccess(answer)) {
            loop.failures = 0
            return store(botId, state, answer.value)
          }
          const error = Exit.findErrorOption(answer)
          return error._tag === "Some" ? failed(botId, state, error.value) : Effect.failCause(answer.cause)
        }).pipe(
          // Telegram trouble backs off from 1 s to 30 s (longer if Telegram asks); an answer resets it.
          Effect.catchTag("TelegramError", (error) => {
            const backoff = Math.min(2 ** loop.failures, 30)
            loop.failures++
            return Effect.sleep(Duration.seconds(Math.max(backoff, error.retryAfterSeconds ?? 0)))
          }),
          Effect.andThen(Effect.sync(() => rest(botId, loop, state))),
          ending(botId, loop)
        )

      const begin = (botId: BotId, loop: Loop): Effect.Effect<void, never, UpdateInbox> =>
        Effect.gen(function* () {
          // The first poll ends at a random point of the cycle: loops started together (every
          // bot at start-up) would otherwise all be answered in the same second, each cycle,
          // and 10,000 answers at once grew the heap by ~170 MB.
          const first = 1 + Math.floor(Math.random() * options.longPollSeconds)
          const state = yield* starting.withPermit(
            access
              .load(botId)
              .pipe(Effect.map((loaded) => pollingOf(loaded, Number.NEGATIVE_INFINITY, first)))
          )
          loop.state = state
          rest(botId, loop, state)
        }).pipe(ending(botId, loop))

      const start = (botId: BotId) =>
        Effect.suspend(() => {
          // Replacing the entry stops the old loop at its next step; stop() lets go of its poll.
          loops.get(botId)?.release?.()
          const loop: Loop = { state: undefined, release: undefined, failures: 0 }
          loops.set(botId, loop)
          // Running replaces (and interrupts) the old loop's fiber, if it had one.
          return FiberMap.run(pollers, botId, begin(botId, loop))
        })

      /**
       * Starts loops for newly active bots, starts again those whose token was
       * replaced, and stops those of disabled or deleted ones. The common case (no
       * change) is a plain loop over the ids: with 10,000 bots, an effect per bot
       * and whole bots read every 5 s held the pipeline thread for a noticeable
       * moment each time.
       */
      const reconcile = Effect.gen(function* () {
        // Nothing changed (no bot written, no loop ended by itself): no need to list 10,000
        // bots, which was about a tenth of the poller's CPU at rest.
        const version = yield* bots.changeVersion
        const now = yield* Clock.currentTimeMillis
        if (version === listed.version && !listed.stale && now - listed.at < FULL_RECONCILE_MILLIS) return
        listed.stale = false
        const active = new Set<BotId>()
        const toStart: Array<BotId> = []
        const restart: Array<BotId> = []
        for (const { id, tokenCiphertext } of yield* bots.listActiveTokens) {
          active.add(id)
          const loop = loops.get(id)
          // A loop still reading its bot has no state yet: it reads the new token itself.
          if (loop === undefined) toStart.push(id)
          else if (loop.state !== undefined && loop.state.tokenCiphertext !== tokenCiphertext)
            restart.push(id)
        }
        const toStop = [...loops.keys()].filter((botId) => !active.has(botId))
        for (const botId of toStart) {
          yield* start(botId)
          yield* Effect.logInfo("polling started", { bot_id: botId })
        }
        for (const botId of restart) {
          yield* start(botId)
          yield* Effect.logInfo("polling restarted with a new token", { bot_id: botId })
        }
        for (const botId of toStop) {
          yield* stop(botId)
          yield* Effect.logInfo("polling stopped", { bot_id: botId })
        }
        // Only now: a reconcile that failed halfway is done again in full.
        listed.version = version
        listed.at = now
      }).pipe(Effect.catchCause((cause) => Effect.logError("poller reconcile failed", cause)))

      yield* Effect.forkScoped(reconcile.pipe(Effect.repeat(Schedule.spaced(options.reconcileEvery))))
    })
  )
