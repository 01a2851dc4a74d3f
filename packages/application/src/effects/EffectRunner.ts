/**
 * Carries out stored domain effects at least once: claims due ones, runs each,
 * marks it done, or schedules a retry with backoff. Every effect is safe to
 * repeat (setting the same webhook twice is harmless).
 *
 * Effects run in lanes (`laneOf`): one bot's effects one after another, in the
 * order they were stored, and different lanes concurrently, at most
 * `CONCURRENCY` at once, so an alert webhook that hangs for its timeout holds
 * up only the alerts behind it, never a bot's setWebhook.
 */
import { type BotId, BotModel, botTexts, commandMenu, type DomainEffect, Languages } from "@botfleet/domain"
import { Clock, Context, Effect, Fiber, Layer, Option } from "effect"
// Alerts
import { AlertService } from "../alerts/AlertService.ts"
import { BotAccess } from "../bots/BotAccess.ts"
import { matchTelegramFailure } from "../pipeline/failures.ts"
import { RetryLater } from "../pipeline/PipelineErrors.ts"
import { SendReply } from "../pipeline/sendReply.ts"
import { BotRepository, EffectOutbox, type StoredEffect, Transactions } from "../ports/Repositories.ts"
import { Settings } from "../ports/Settings.ts"
import { TelegramGateway } from "../ports/TelegramGateway.ts"
import { makeLanes } from "./lanes.ts"

const MAX_ATTEMPTS = 10
/** Effects carried out at once by one process (each is a short HTTP call with its own timeout). */
export const CONCURRENCY = 8
/** One menu per catalogue language: a few at once keep enabling a bot quick and far from flood limits. */
const MENU_CONCURRENCY = 4
/** Claimed and not yet finished, at most: a busy lane does not pull in the whole table. */
const MAX_IN_FLIGHT = 200
/** How long a claim holds an effect away from other processes. */
const CLAIM_SECONDS = 60

/**
 * Which effects must keep their order: a bot's webhook, command menu and
 * admin messages (one lane per bot), and the alerts of one channel (so
 * "resolved" follows its alert).
 */
export const laneOf = (effect: DomainEffect): string => {
  if (effect._tag !== "DeliverAlert") return `bot:${effect.botId}`
  return effect.channel === "webhook" ? "alert:webhook" : `alert:telegram:${effect.telegramChatId}`
}

export class EffectRunner extends Context.Service<
  EffectRunner,
  {
    /** Runs what is due now and waits for it; returns how many effects it handled. */
    readonly runDue: (limit: number) => Effect.Effect<number>
    /**
     * Claims what is due (up to `limit`, fewer while many are still running)
     * and starts each in its lane without waiting; returns how many it claimed.
     */
    readonly dispatchDue: (limit: number) => Effect.Effect<number>
  }
>()("@botfleet/application/EffectRunner") {
  static readonly layer = Layer.effect(
    EffectRunner,
    Effect.gen(function* () {
      const outbox = yield* EffectOutbox
      const bots = yield* BotRepository
      const access = yield* BotAccess
      const telegram = yield* TelegramGateway
      const transactions = yield* Transactions
      const settings = yield* Settings
      const sendReply = yield* SendReply
      // Alerts: optional wiring, so use-case tests without alert channels need none.
      const alerts = yield* Effect.serviceOption(AlertService)

      /** The bot's token, or none when the bot is gone (nothing left to do for it). */
      const tokenOf = (botId: BotId) =>
        access.load(botId).pipe(
          Effect.map(Option.some),
          Effect.catchTag("BotNotFound", () => Effect.succeed(Option.none()))
        )

      const execute = Effect.fn("EffectRunner.execute")(function* (effect: DomainEffect) {
        yield* Effect.annotateCurrentSpan({ "effect.kind": effect._tag, "bot.id": effect.botId })
        switch (effect._tag) {
          case "TelegramSetWebhook": {
            const found = yield* tokenOf(effect.botId)
            // A bot disabled since then must not get its webhook back.
            if (Option.isNone(found) || !found.value.bot.active) return
            const { bot, token } = found.value
            yield* telegram.setWebhook(token, { url: effect.url, secretToken: bot.webhookSecret })
            return
          }
          case "TelegramRemoveWebhook": {
            const found = yield* tokenOf(effect.botId)
            if (Option.isNone(found)) return
            // Enabled again since (a retried removal arriving late): the webhook must stay.
            if (found.value.bot.active && Option.isSome(settings.publicUrl)) return
            yield* telegram.deleteWebhook(found.value.token)
            return
          }
          case "TelegramSetCommands": {
            const found = yield* tokenOf(effect.botId)
            // A bot disabled or deleted since needs no menu.
            if (Option.isNone(found) || !found.value.bot.active) return
            const { bot, token } = found.value
            // Users whose language the catalogue lacks see the bot's language; the others their own.
            yield* telegram.setMyCommands(token, commandMenu(botTexts(bot, null)))
            yield* Effect.forEach(
              Languages,
              (language) => telegram.setMyCommands(token, commandMenu(botTexts(bot, language)), language),
              { concurrency: MENU_CONCURRENCY, discard: true }
            )
            return
          }
          case "TelegramSendMessage":
            // A message deleted since has nothing left to send.
            return yield* sendReply
              .deliver(effect.messageId)
              .pipe(Effect.catchTag("MessageNotFound", () => Effect.void))
          case "NotifyAdmins":
            // Admins read this in the logs and on the bot (last_error); a push channel can hang off here.
            yield* Effect.logWarning("admin notice", {
              bot_id: effect.botId,
              chat_id: effect.chatId,
              notice: effect.message
            })
            return
          // Alerts: a failing channel is retried like any effect.
          case "DeliverAlert":
            if (Option.isNone(alerts))
              return yield* Effect.logWarning("alert (no channels wired)", { text: effect.text })
            return yield* alerts.value
              .deliver(effect)
              .pipe(
                Effect.mapError((error) => new RetryLater({ reason: error.message, retryAfterSeconds: null }))
              )
        }
      })

      /** fatal: the bot stops; final: this effect stops; retry: again later, until MAX_ATTEMPTS. */
      const recordFailure = Effect.fn("EffectRunner.recordFailure")(function* (
        stored: StoredEffect,
        error: string,
        severity: "retry" | "final" | "fatal"
      ) {
        const fatal = severity === "fatal"
        const now = new Date(yield* Clock.currentTimeMillis)
        const giveUp = severity !== "retry" || stored.attempts + 1 >= MAX_ATTEMPTS
        const retryAt = giveUp
          ? null
          : new Date(now.getTime() + Math.min(300_000, 1_000 * 2 ** stored.attempts))
        yield* outbox.markFailed(stored.id, error, retryAt)
        if (
          giveUp &&
          (stored.effect._tag === "TelegramSetWebhook" || stored.effect._tag === "TelegramRemoveWebhook")
        ) {
          const bot = yield* bots.findById(stored.effect.botId).pipe(Effect.option)
          if (Option.isSome(bot)) {
            const transition = fatal
              ? BotModel.markFailed(bot.value, error, now)
              : { state: new BotModel.Bot({ ...bot.value, lastError: error, lastErrorAt: now }), effects: [] }
            yield* transactions.withTransaction(
              Effect.gen(function* () {
                yield* bots.update(transition.state).pipe(Effect.orDie)
                yield* outbox.enqueue(transition.effects)
              })
            )
          }
        }
        yield* Effect.logWarning("domain effect failed", {
          effect_id: stored.id,
          kind: stored.effect._tag,
          attempt: stored.attempts + 1,
          error,
          will_retry: retryAt !== null
        })
      })

      const runOne = (stored: StoredEffect) =>
        execute(stored.effect).pipe(
          Effect.flatMap(() => outbox.markDone(stored.id)),
          Effect.catchTags({
            // Only a rejected token is final here: an effect that failed for good is still retried.
            TelegramError: (error) =>
              recordFailure(
                stored,
                error.message,
                matchTelegramFailure(error, {
                  stopBot: () => "fatal" as const,
                  retry: () => "retry" as const,
                  giveUp: () => "retry" as const
                })
              ),
            SecretUnreadable: (error) => recordFailure(stored, error.message, "fatal"),
            RetryLater: (error) => recordFailure(stored, error.reason, "retry"),
            BotUnavailable: (error) => recordFailure(stored, error.reason, "final")
          })
        )

      const lanes = yield* makeLanes(CONCURRENCY)
      // Ids claimed by this process and not finished: a claim that ran out while its
      // effect waits in a lane must not start it a second time here.
      const inFlight = new Set<number>()

      /** Claims due effects and starts each in its lane; the fibers of those it started. */
      const claimAndStart = Effect.fn("EffectRunner.claimAndStart")(function* (limit: number) {
        const room = Math.min(limit, MAX_IN_FLIGHT - inFlight.size)
        if (room <= 0) return []
        const due = yield* outbox.claimDue(room, CLAIM_SECONDS)
        const started: Array<Fiber.Fiber<void>> = []
        // Oldest first, so each lane gets its effects in the order they were stored.
        for (const stored of due) {
          if (inFlight.has(stored.id)) continue
          inFlight.add(stored.id)
          const task = runOne(stored).pipe(Effect.ensuring(Effect.sync(() => inFlight.delete(stored.id))))
          started.push(yield* lanes.submit(laneOf(stored.effect), task))
        }
        return started
      })

      const runDue = Effect.fn("EffectRunner.runDue")(function* (limit: number) {
        const started = yield* claimAndStart(limit)
        yield* Fiber.awaitAll(started)
        return started.length
      })

      const dispatchDue = Effect.fn("EffectRunner.dispatchDue")(function* (limit: number) {
        return (yield* claimAndStart(limit)).length
      })

      return EffectRunner.of({ runDue, dispatchDue })
    })
  )
}
