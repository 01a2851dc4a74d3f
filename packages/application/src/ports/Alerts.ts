/** Storage and the outbound webhook for alerts. */
import { Context, type Effect, type Redacted, Schema } from "effect"

export interface AlertSettings {
  /** Encrypted (SecretBox); null: no webhook. */
  readonly webhookUrlCiphertext: string | null
  /** "https://hooks.slack.com/…": enough to recognise it. */
  readonly webhookUrlHint: string | null
  readonly telegramBotId: string | null
  readonly telegramChatIds: ReadonlyArray<number>
  readonly cooldownMinutes: number
}

export const defaultAlertSettings: AlertSettings = {
  webhookUrlCiphertext: null,
  webhookUrlHint: null,
  telegramBotId: null,
  telegramChatIds: [],
  cooldownMinutes: 30
}

export interface OpenAlert {
  readonly kind: string
  /** The bot's id, or "" for the fleet. */
  readonly botKey: string
  readonly text: string
}

export interface DigestLine {
  readonly botId: string
  readonly name: string
  readonly replies: number
  readonly users: number
  readonly costUsd: number
  readonly errors: number
}

export interface BotBudget {
  readonly id: string
  readonly name: string
  readonly limitUsd: number
  readonly spentUsd: number
}

export class AlertStore extends Context.Service<
  AlertStore,
  {
    readonly settings: Effect.Effect<AlertSettings>
    readonly saveSettings: (settings: AlertSettings) => Effect.Effect<void>
    /**
     * Marks the alert open; true when it should be sent now (not sent within
     * `cooldownMinutes`), in which case it is recorded as sent.
     */
    readonly open: (
      kind: string,
      botKey: string,
      text: string,
      cooldownMinutes: number
    ) => Effect.Effect<boolean>
    /** Closes an open alert; true when it was open (a "resolved" notice is due). */
    readonly close: (kind: string, botKey: string) => Effect.Effect<boolean>
    readonly openAlerts: Effect.Effect<ReadonlyArray<OpenAlert>>
    /** Bots stopped by a fatal error (disabled with last_error). */
    readonly stoppedBots: Effect.Effect<
      ReadonlyArray<{ readonly id: string; readonly name: string; readonly error: string }>
    >
    /** Failed replies and updates since `since`, but none of the bots in `except`. */
    readonly failuresSince: (since: Date, except: ReadonlyArray<string>) => Effect.Effect<number>
    /** Bots whose replies failed since `since` because the LLM refused (auth, quota) or was down. */
    readonly llmFailingBots: (
      since: Date
    ) => Effect.Effect<ReadonlyArray<{ readonly id: string; readonly name: string; readonly error: string }>>
    readonly digest: (since: Date) => Effect.Effect<ReadonlyArray<DigestLine>>
    /** Bots with a `botUsdPerMonth` limit, and what they spent in the month starting at `monthStart`. */
    readonly botBudgets: (monthStart: Date) => Effect.Effect<ReadonlyArray<BotBudget>>
  }
>()("@botfleet/application/AlertStore") {}

export class AlertDeliveryFailed extends Schema.TaggedError<AlertDeliveryFailed>()("AlertDeliveryFailed", {
  reason: Schema.String
}) {
  override get message() {
    return this.reason
  }
}

export class AlertWebhook extends Context.Service<
  AlertWebhook,
  {
    /** POSTs `body` as JSON; anything but 2xx within the timeout fails. */
    readonly post: (url: Redacted.Redacted<string>, body: unknown) => Effect.Effect<void, AlertDeliveryFailed>
  }
>()("@botfleet/application/AlertWebhook") {}
