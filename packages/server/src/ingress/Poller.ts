/**
 * Long polling for active bots when there is no PUBLIC_URL. Each bot has one
 * loop: fetch, store in the inbox, then advance the stored offset, so a
 * restart neither loses updates (offset moves only after storing) nor repeats
 * them (the inbox drops a second copy of an update id).
 *
 * A loop reads its bot and decrypts the token once, then keeps the token and
 * the offset it stored itself: at rest a round is one held getUpdates and
 * nothing else, and an empty answer does not even come back here: the poll
 * client asks again by itself (`untilUpdates`), so a round at rest runs no
 * Effect code at all. With 10,000 bots a database read and a decryption per round
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
  type Token
} from "@botfleet/application"
import type { BotId, BotNotFound } from "@botfleet/domain"
import { Duration, Effect, FiberMap, Layer, Schedule, Semaphore } from "effect"
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
      // One loop per polled bot; a loop that ends (bot stopped or deleted) leaves the map by itself.
      const pollers = yield* FiberMap.make<BotId>()
      // Each running loop's state, for the reconcile to see which token it polls with.
      const polling = new Map<BotId, Polling>()
      const starting = yield* Semaphore.make(STARTING_AT_ONCE)
      const fn = yield* spanFn

      /** One getUpdates round; returns how many updates it stored. */
      const pollOnce = fn("Poller.pollOnce")(function* (botId: BotId, state: Polling) {
        const updates = yield* telegram.getUpdates(state.token, {
          offset: state.offset,
          timeoutSeconds: state.timeoutSeconds,
          limit: 100,
          untilUpdates: { timeoutSeconds: options.longPollSeconds }
        })
        state.timeoutSeconds = options.longPollSeconds
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

      const cappedBackoff = Schedule.exponential("1 second").pipe(
        Schedule.modifyDelay((step) => Effect.succeed(Duration.min(step.duration, Duration.seconds(30))))
      )

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

      const pollLoop = (botId: BotId) =>
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
          polling.set(botId, state)
          const round = pollOnce(botId, state).pipe(
            Effect.catchTag(
              "TelegramError",
              (
                error
              ): Effect.Effect<number, TelegramError | BotNotFound | BotUnavailable | SecretUnreadable> =>
                matchTelegramFailure(error, {
                  stopBot: (reason) => refused(botId, state, reason),
                  // Backed off and tried again by the loop: a poll has nothing to give up on.
                  retry: () => Effect.fail(error),
                  giveUp: () => Effect.fail(error)
                })
            ),
            Effect.tapError((error) =>
              error._tag === "TelegramError"
                ? Effect.logWarning("polling failed; backing off", { bot_id: botId, error: error.message })
                : Effect.void
            ),
            // Telegram trouble backs off from 1 s to 30 s; a successful round resets it.
            Effect.retry({ schedule: cappedBackoff, while: (error) => error._tag === "TelegramError" }),
            Effect.forever
          )
          yield* round.pipe(
            Effect.ensuring(
              Effect.sync(() => {
                // A loop started again for a new token may already have put its own state here.
                if (polling.get(botId) === state) polling.delete(botId)
              })
            )
          )
        }).pipe(
          Effect.catchTags({
            // Deleted, or stopped because Telegram refused its token: the loop ends.
            BotNotFound: () => Effect.void,
            BotUnavailable: () => Effect.void,
            SecretUnreadable: (error) => botService.stop(botId, error.message).pipe(Effect.ignore)
          }),
          Effect.catchCause((cause) => Effect.logError("polling stopped unexpectedly", cause)),
          Effect.annotateLogs("bot_id", botId)
        )

      /**
       * Starts loops for newly active bots, starts again those whose token was
       * replaced, and stops those of disabled or deleted ones. The common case (no
       * change) is a plain loop over the ids: with 10,000 bots, an effect per bot
       * and whole bots read every 5 s held the pipeline thread for a noticeable
       * moment each time.
       */
      const reconcile = Effect.gen(function* () {
        const active = new Set<BotId>()
        const start: Array<BotId> = []
        const restart: Array<BotId> = []
        for (const { id, tokenCiphertext } of yield* bots.listActiveTokens) {
          active.add(id)
          // A loop still reading its bot has no state yet: it reads the new token itself.
          const state = polling.get(id)
          if (!FiberMap.hasUnsafe(pollers, id)) start.push(id)
          else if (state !== undefined && state.tokenCiphertext !== tokenCiphertext) restart.push(id)
        }
        const stop = [...pollers].map(([botId]) => botId).filter((botId) => !active.has(botId))
        for (const botId of start) {
          yield* FiberMap.run(pollers, botId, pollLoop(botId))
          yield* Effect.logInfo("polling started", { bot_id: botId })
        }
        for (const botId of restart) {
          // Running replaces (and interrupts) the loop polling with the old token.
          yield* FiberMap.run(pollers, botId, pollLoop(botId))
          yield* Effect.logInfo("polling restarted with a new token", { bot_id: botId })
        }
        for (const botId of stop) {
          yield* FiberMap.remove(pollers, botId)
          yield* Effect.logInfo("polling stopped", { bot_id: botId })
        }
      }).pipe(Effect.catchCause((cause) => Effect.logError("poller reconcile failed", cause)))

      yield* Effect.forkScoped(reconcile.pipe(Effect.repeat(Schedule.spaced(options.reconcileEvery))))
    })
  )
