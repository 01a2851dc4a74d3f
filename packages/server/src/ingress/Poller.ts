/**
 * Long polling for active bots when there is no PUBLIC_URL. Each bot has one
 * loop: fetch, store in the inbox, then advance the stored offset, so a
 * restart neither loses updates (offset moves only after storing) nor repeats
 * them (the inbox drops a second copy of an update id).
 */
import {
  acceptUpdate,
  admitUpdate,
  BotAccess,
  BotRepository,
  BotService,
  classifyTelegram,
  spanFn,
  type TelegramError,
  TelegramGateway,
  tokenRejected
} from "@botfleet/application"
import type { BotId, BotNotFound } from "@botfleet/domain"
import { Duration, Effect, FiberMap, Layer, Schedule } from "effect"
import { Dispatcher } from "../processing/Dispatcher.ts"

export interface PollerOptions {
  readonly longPollSeconds: number
  readonly reconcileEvery: Duration.Input
}

export const defaultPollerOptions: PollerOptions = { longPollSeconds: 25, reconcileEvery: "5 seconds" }

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
      const fn = yield* spanFn

      /** One getUpdates round; returns how many updates it stored. */
      const pollOnce = fn("Poller.pollOnce")(function* (botId: BotId) {
        // Read each round: the offset, and a token an admin may have replaced.
        const { bot, token } = yield* access.load(botId)
        const updates = yield* telegram.getUpdates(token, {
          offset: bot.pollingOffset,
          timeoutSeconds: options.longPollSeconds,
          limit: 100
        })
        let highest = -1
        for (const polled of updates) {
          // Stored even with a problem (Telegram would hand it out again otherwise): the
          // pipeline parks it as failed, where admins see why.
          const update = admitUpdate(polled)
          const updateId = update.updateId
          if (updateId === undefined) continue
          // Each polled update starts its own trace, continued when it is processed.
          yield* acceptUpdate({ botId, updateId, payload: update.payload, source: "polling" }).pipe(
            Effect.withSpan("Poller.receive", {
              root: true,
              attributes: { "bot.id": botId, "update.id": updateId }
            })
          )
          highest = Math.max(highest, updateId)
        }
        if (highest >= 0) {
          yield* bots.setPollingOffset(botId, highest + 1)
          yield* dispatcher.wake
        }
        return updates.length
      })

      const cappedBackoff = Schedule.exponential("1 second").pipe(
        Schedule.modifyDelay((step) => Effect.succeed(Duration.min(step.duration, Duration.seconds(30))))
      )

      const pollLoop = (botId: BotId) =>
        pollOnce(botId).pipe(
          Effect.catchTags({
            TelegramError: (error): Effect.Effect<number, TelegramError | BotNotFound> =>
              classifyTelegram(error) === "fatal"
                ? botService.stop(botId, tokenRejected(error)).pipe(Effect.andThen(Effect.interrupt))
                : Effect.fail(error),
            SecretUnreadable: (error) =>
              botService.stop(botId, error.message).pipe(Effect.andThen(Effect.interrupt))
          }),
          Effect.tapError((error) =>
            error._tag === "TelegramError"
              ? Effect.logWarning("polling failed; backing off", { bot_id: botId, error: error.message })
              : Effect.void
          ),
          // Telegram trouble backs off from 1 s to 30 s; a successful round resets it.
          Effect.retry({ schedule: cappedBackoff, while: (error) => error._tag === "TelegramError" }),
          Effect.forever,
          Effect.catchTag("BotNotFound", () => Effect.void),
          Effect.catchCause((cause) => Effect.logError("polling stopped unexpectedly", cause)),
          Effect.annotateLogs("bot_id", botId)
        )

      /** Starts loops for newly active bots and stops those of disabled or deleted ones. */
      const reconcile = Effect.gen(function* () {
        const active = new Set((yield* bots.listActive).map((bot) => bot.id))
        for (const botId of active) {
          if (!(yield* FiberMap.has(pollers, botId))) {
            yield* FiberMap.run(pollers, botId, pollLoop(botId))
            yield* Effect.logInfo("polling started", { bot_id: botId })
          }
        }
        for (const [botId] of [...pollers]) {
          if (!active.has(botId)) {
            yield* FiberMap.remove(pollers, botId)
            yield* Effect.logInfo("polling stopped", { bot_id: botId })
          }
        }
      }).pipe(Effect.catchCause((cause) => Effect.logError("poller reconcile failed", cause)))

      yield* Effect.forkScoped(reconcile.pipe(Effect.repeat(Schedule.spaced(options.reconcileEvery))))
    })
  )
