/**
 * Carries out stored domain effects at least once: claims due ones, runs each,
 * marks it done, or schedules a retry with backoff. Every effect is safe to
 * repeat (setting the same webhook twice is harmless).
 */
import { type BotId, BotModel, COMMAND_MENU, type DomainEffect } from "@botfleet/domain"
import { Clock, Context, Effect, Layer, Option } from "effect"
// Alerts (issue 13)
import { AlertService } from "../alerts/AlertService.ts"
import { BotAccess } from "../bots/BotAccess.ts"
import { classifyTelegram } from "../pipeline/failures.ts"
import { RetryLater } from "../pipeline/PipelineErrors.ts"
import { SendReply } from "../pipeline/sendReply.ts"
import { BotRepository, EffectOutbox, type StoredEffect, Transactions } from "../ports/Repositories.ts"
import { Settings } from "../ports/Settings.ts"
import { TelegramGateway } from "../ports/TelegramGateway.ts"

const MAX_ATTEMPTS = 10

export class EffectRunner extends Context.Service<
  EffectRunner,
  {
    /** Runs what is due now; returns how many effects it handled. */
    readonly runDue: (limit: number) => Effect.Effect<number>
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
      // Alerts (issue 13): optional wiring, so use-case tests without alert channels need none.
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
            yield* telegram.setMyCommands(found.value.token, COMMAND_MENU)
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
          // Alerts (issue 13): a failing channel is retried like any effect.
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
            // As before the classifier: only a rejected token is final here; the rest is retried.
            TelegramError: (error) =>
              recordFailure(stored, error.message, classifyTelegram(error) === "fatal" ? "fatal" : "retry"),
            SecretUnreadable: (error) => recordFailure(stored, error.message, "fatal"),
            RetryLater: (error) => recordFailure(stored, error.reason, "retry"),
            BotUnavailable: (error) => recordFailure(stored, error.reason, "final")
          })
        )

      const runDue = Effect.fn("EffectRunner.runDue")(function* (limit: number) {
        const due = yield* outbox.claimDue(limit, 60)
        // One at a time, oldest first: a bot's webhook changes must reach Telegram in the order they were made.
        yield* Effect.forEach(due, runOne, { discard: true })
        return due.length
      })

      return EffectRunner.of({ runDue })
    })
  )
}
