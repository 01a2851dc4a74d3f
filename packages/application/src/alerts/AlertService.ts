/**
 * Alerts that reach a person: raised with a kind and a bot, sent at most once
 * per cooldown to the configured webhook and Telegram chats, through the
 * outbox (so delivery retries and never holds up replies), and followed by a
 * "resolved" notice when the condition is gone.
 */
import { type BotId, BotId as BotIdSchema, type DeliverAlert } from "@botfleet/domain"
import { Clock, Context, Effect, Layer, Redacted, Schema } from "effect"
import { BotAccess } from "../bots/BotAccess.ts"
import * as Metrics from "../observability/metrics.ts"
import { AlertDeliveryFailed, type AlertSettings, AlertStore, AlertWebhook } from "../ports/Alerts.ts"
import { BotRepository, EffectOutbox } from "../ports/Repositories.ts"
import { SecretBox } from "../ports/SecretBox.ts"
import { TelegramGateway } from "../ports/TelegramGateway.ts"

export type AlertSeverity = "info" | "warning" | "critical"

export interface Alert {
  readonly kind: string
  readonly severity: AlertSeverity
  readonly botId: string | null
  readonly text: string
}

export interface AlertSettingsChange {
  /** null clears it; undefined keeps it. */
  readonly webhookUrl?: Redacted.Redacted<string> | null | undefined
  readonly telegramBotId?: string | null | undefined
  readonly telegramChatIds?: ReadonlyArray<number> | undefined
  readonly cooldownMinutes?: number | undefined
}

export class AlertBotNotFound extends Schema.TaggedError<AlertBotNotFound>()("AlertBotNotFound", {
  botId: Schema.String
}) {
  override get message() {
    return `telegramBotId: no bot ${this.botId}`
  }
}

/** "https://hooks.slack.com/…": the origin only; the path is the secret. */
export const webhookHint = (url: string): string => `${new URL(url).origin}/…`

export class AlertService extends Context.Service<
  AlertService,
  {
    readonly settings: Effect.Effect<AlertSettings>
    readonly updateSettings: (change: AlertSettingsChange) => Effect.Effect<AlertSettings, AlertBotNotFound>
    /** Sends the alert unless the same kind and bot was sent within the cooldown; true when queued. */
    readonly raise: (alert: Alert) => Effect.Effect<boolean>
    /** Sends "resolved" if an alert of this kind and bot is open. */
    readonly resolve: (kind: string, botId: string | null) => Effect.Effect<boolean>
    /** Queues a message to every channel, without dedupe (the daily digest). */
    readonly broadcast: (alert: Alert) => Effect.Effect<void>
    /** Carries out one delivery (called by the effect runner). */
    readonly deliver: (effect: DeliverAlert) => Effect.Effect<void, AlertDeliveryFailed>
  }
>()("@botfleet/application/AlertService") {
  static readonly layer = Layer.effect(
    AlertService,
    Effect.gen(function* () {
      const store = yield* AlertStore
      const outbox = yield* EffectOutbox
      const box = yield* SecretBox
      const webhook = yield* AlertWebhook
      const access = yield* BotAccess
      const telegram = yield* TelegramGateway
      const bots = yield* BotRepository

      const updateSettings = Effect.fn("AlertService.updateSettings")(function* (
        change: AlertSettingsChange
      ) {
        const current = yield* store.settings
        if (change.telegramBotId !== undefined && change.telegramBotId !== null) {
          const botId = change.telegramBotId
          yield* bots
            .findById(BotIdSchema.make(botId))
            .pipe(Effect.catchTag("BotNotFound", () => Effect.fail(new AlertBotNotFound({ botId }))))
        }
        const webhookPart =
          change.webhookUrl === undefined
            ? {}
            : change.webhookUrl === null
              ? { webhookUrlCiphertext: null, webhookUrlHint: null }
              : {
                  webhookUrlCiphertext: yield* box.encrypt(change.webhookUrl),
                  webhookUrlHint: webhookHint(Redacted.value(change.webhookUrl))
                }
        const next: AlertSettings = {
          ...current,
          ...webhookPart,
          ...(change.telegramBotId === undefined ? {} : { telegramBotId: change.telegramBotId }),
          ...(change.telegramChatIds === undefined ? {} : { telegramChatIds: change.telegramChatIds }),
          ...(change.cooldownMinutes === undefined ? {} : { cooldownMinutes: change.cooldownMinutes })
        }
        yield* store.saveSettings(next)
        return next
      })

      /** One DeliverAlert per channel configured now. */
      const enqueue = Effect.fn("AlertService.enqueue")(function* (alert: Alert, settings: AlertSettings) {
        const at = new Date(yield* Clock.currentTimeMillis).toISOString()
        const base = {
          _tag: "DeliverAlert" as const,
          botId: alert.botId === null ? null : BotIdSchema.make(alert.botId),
          kind: alert.kind,
          severity: alert.severity,
          text: alert.text,
          at
        }
        const effects: Array<DeliverAlert> = []
        if (settings.webhookUrlCiphertext !== null) {
          effects.push({ ...base, channel: "webhook", senderBotId: null, telegramChatId: null })
        }
        if (settings.telegramBotId !== null) {
          for (const chatId of settings.telegramChatIds) {
            effects.push({
              ...base,
              channel: "telegram",
              senderBotId: BotIdSchema.make(settings.telegramBotId),
              telegramChatId: chatId
            })
          }
        }
        yield* outbox.enqueue(effects)
        return effects.length > 0
      })

      const raise = Effect.fn("AlertService.raise")(function* (alert: Alert) {
        const settings = yield* store.settings
        const hasChannel = settings.webhookUrlCiphertext !== null || settings.telegramChatIds.length > 0
        // Nothing configured: leave it unrecorded, so it is sent once a channel is set.
        if (!hasChannel) return false
        const due = yield* store.open(alert.kind, alert.botId ?? "", alert.text, settings.cooldownMinutes)
        if (!due) return false
        yield* Effect.logWarning("alert", { kind: alert.kind, bot_id: alert.botId, text: alert.text })
        yield* Metrics.count(Metrics.alertsRaised, { kind: alert.kind })
        return yield* enqueue(alert, settings)
      })

      const resolve = Effect.fn("AlertService.resolve")(function* (kind: string, botId: string | null) {
        if (!(yield* store.close(kind, botId ?? ""))) return false
        const settings = yield* store.settings
        return yield* enqueue(
          { kind: "resolved", severity: "info", botId, text: `Resolved: ${kind.replace(/_/g, " ")}` },
          settings
        )
      })

      const broadcast = Effect.fn("AlertService.broadcast")(function* (alert: Alert) {
        yield* enqueue(alert, yield* store.settings)
      })

      const send = Effect.fn("AlertService.deliver")(function* (effect: DeliverAlert) {
        const body = {
          kind: effect.kind,
          severity: effect.severity,
          botId: effect.botId,
          text: effect.text,
          at: effect.at
        }
        if (effect.channel === "webhook") {
          const settings = yield* store.settings
          // Removed since: nowhere to send it.
          if (settings.webhookUrlCiphertext === null) return
          const url = yield* box
            .decrypt(settings.webhookUrlCiphertext)
            .pipe(Effect.mapError((e) => new AlertDeliveryFailed({ reason: e.message })))
          return yield* webhook.post(url, body)
        }
        if (effect.senderBotId === null || effect.telegramChatId === null) return
        const chatId = effect.telegramChatId
        const sender = yield* access
          .load(effect.senderBotId as BotId)
          .pipe(Effect.mapError((e) => new AlertDeliveryFailed({ reason: `alert bot: ${e.message}` })))
        yield* telegram
          .sendMessage(sender.token, { chatId, text: `[${effect.severity}] ${effect.text}` })
          .pipe(Effect.mapError((e) => new AlertDeliveryFailed({ reason: `telegram: ${e.message}` })))
      })

      const deliver = (effect: DeliverAlert) =>
        send(effect).pipe(
          Effect.tap(() =>
            Metrics.count(Metrics.alertsSent, { kind: effect.kind, channel: effect.channel, outcome: "ok" })
          ),
          Effect.tapError(() =>
            Metrics.count(Metrics.alertsSent, {
              kind: effect.kind,
              channel: effect.channel,
              outcome: "error"
            })
          )
        )

      return AlertService.of({ settings: store.settings, updateSettings, raise, resolve, broadcast, deliver })
    })
  )
}
