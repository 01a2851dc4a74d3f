/** Alert settings, open alerts and the queries behind each alert kind. */
import { type AlertSettings, AlertStore, defaultAlertSettings } from "@botfleet/application"
import { PROVIDER_FAILING_KINDS } from "@botfleet/domain"
import { Effect, Layer } from "effect"
import { SqlClient } from "effect/sql"

interface SettingsRow {
  readonly webhook_url_ciphertext: string | null
  readonly webhook_url_hint: string | null
  readonly telegram_bot_id: string | null
  readonly telegram_chat_ids: ReadonlyArray<string | number>
  readonly cooldown_minutes: number
}

interface BotProblemRow {
  readonly id: string
  readonly name: string
  readonly error: string
}

export const layer: Layer.Layer<AlertStore, never, SqlClient.SqlClient> = Layer.effect(
  AlertStore,
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient

    const settings = Effect.map(
      sql<SettingsRow>`
        SELECT webhook_url_ciphertext, webhook_url_hint, telegram_bot_id, telegram_chat_ids, cooldown_minutes
        FROM alert_settings`,
      ([row]): AlertSettings =>
        row === undefined
          ? defaultAlertSettings
          : {
              webhookUrlCiphertext: row.webhook_url_ciphertext,
              webhookUrlHint: row.webhook_url_hint,
              telegramBotId: row.telegram_bot_id,
              telegramChatIds: row.telegram_chat_ids.map(Number),
              cooldownMinutes: row.cooldown_minutes
            }
    ).pipe(Effect.orDie)

    const saveSettings = Effect.fn("AlertStore.saveSettings")(function* (next: AlertSettings) {
      const chatIds = `{${next.telegramChatIds.map((id) => Math.trunc(id)).join(",")}}`
      yield* sql`
        INSERT INTO alert_settings (id, webhook_url_ciphertext, webhook_url_hint, telegram_bot_id, telegram_chat_ids, cooldown_minutes, updated_at)
        VALUES (true, ${next.webhookUrlCiphertext}, ${next.webhookUrlHint}, ${next.telegramBotId}, ${chatIds}::bigint[], ${next.cooldownMinutes}, now())
        ON CONFLICT (id) DO UPDATE SET
          webhook_url_ciphertext = EXCLUDED.webhook_url_ciphertext, webhook_url_hint = EXCLUDED.webhook_url_hint,
          telegram_bot_id = EXCLUDED.telegram_bot_id, telegram_chat_ids = EXCLUDED.telegram_chat_ids,
          cooldown_minutes = EXCLUDED.cooldown_minutes, updated_at = now()`.pipe(Effect.orDie)
    })

    // The row lock serialises two evaluations of the same alert; only the one that moves last_sent_at sends.
    const open = Effect.fn("AlertStore.open")(function* (
      kind: string,
      botKey: string,
      text: string,
      cooldownMinutes: number
    ) {
      const rows = yield* sql<{ sent: boolean }>`
        INSERT INTO alert_state AS s (kind, bot_key, open, text, last_sent_at)
        VALUES (${kind}, ${botKey}, true, ${text}, now())
        ON CONFLICT (kind, bot_key) DO UPDATE SET
          open = true,
          text = EXCLUDED.text,
          last_sent_at = CASE WHEN s.last_sent_at < now() - make_interval(mins => ${cooldownMinutes})
                              THEN now() ELSE s.last_sent_at END
        RETURNING (last_sent_at = now()) AS sent`.pipe(Effect.orDie)
      return rows[0]?.sent === true
    })

    const close = Effect.fn("AlertStore.close")(function* (kind: string, botKey: string) {
      const rows = yield* sql`
        UPDATE alert_state SET open = false WHERE kind = ${kind} AND bot_key = ${botKey} AND open
        RETURNING 1`.pipe(Effect.orDie)
      return rows.length > 0
    })

    const openAlerts = Effect.map(
      sql<{
        kind: string
        bot_key: string
        text: string
      }>`SELECT kind, bot_key, text FROM alert_state WHERE open`,
      (rows) => rows.map((row) => ({ kind: row.kind, botKey: row.bot_key, text: row.text }))
    ).pipe(Effect.orDie)

    const stoppedBots = sql<BotProblemRow>`
      SELECT id::text, name, last_error AS error FROM bots WHERE NOT active AND last_error IS NOT NULL`.pipe(
      Effect.orDie
    )

    const failuresSince = Effect.fn("AlertStore.failuresSince")(function* (
      since: Date,
      except: ReadonlyArray<string>
    ) {
      // Bot ids as text: `except` comes from other alerts' keys.
      const others = sql`NOT (bot_id::text = ANY(${`{${except.join(",")}}`}::text[]))`
      const [row] = yield* sql<{ count: number }>`
        SELECT (SELECT count(*) FROM messages
                WHERE status = 'failed' AND created_at >= ${since} AND ${others})::int
             + (SELECT count(*) FROM telegram_updates
                WHERE status = 'failed' AND processed_at >= ${since} AND ${others})::int
               AS count`.pipe(Effect.orDie)
      return row?.count ?? 0
    })

    const llmFailingBots = Effect.fn("AlertStore.llmFailingBots")(function* (since: Date) {
      return yield* sql<BotProblemRow>`
        SELECT DISTINCT ON (b.id) b.id::text, b.name, m.error
        FROM messages m JOIN bots b ON b.id = m.bot_id
        WHERE m.status = 'failed' AND m.role = 'assistant' AND m.created_at >= ${since}
          AND m.failure_kind = ANY(${PROVIDER_FAILING_KINDS as Array<string>})
        ORDER BY b.id, m.created_at DESC`.pipe(Effect.orDie)
    })

    const digest = Effect.fn("AlertStore.digest")(function* (since: Date) {
      const rows = yield* sql<{
        id: string
        name: string
        replies: number
        users: number
        cost: number
        errors: number
      }>`
        SELECT b.id::text, b.name,
          count(*) FILTER (WHERE m.role = 'assistant' AND m.status = 'sent')::int AS replies,
          count(DISTINCT m.tg_user_id) FILTER (WHERE m.role = 'user')::int AS users,
          coalesce(sum(m.cost_usd), 0)::float8 AS cost,
          count(*) FILTER (WHERE m.status = 'failed')::int AS errors
        FROM bots b LEFT JOIN messages m ON m.bot_id = b.id AND m.created_at >= ${since}
        GROUP BY b.id, b.name ORDER BY lower(b.name)`.pipe(Effect.orDie)
      return rows.map((row) => ({
        botId: row.id,
        name: row.name,
        replies: row.replies,
        users: row.users,
        costUsd: row.cost,
        errors: row.errors
      }))
    })

    // The bot's own month row of usage_counters (tg_user_id 0) is what UsageLedger.reserve checks.
    const botBudgets = Effect.fn("AlertStore.botBudgets")(function* (monthStart: Date) {
      const rows = yield* sql<{ id: string; name: string; limit_usd: number; spent_usd: number }>`
        SELECT b.id::text, b.name, (b.limits ->> 'botUsdPerMonth')::float8 AS limit_usd,
          coalesce(u.cost_usd, 0)::float8 AS spent_usd
        FROM bots b
        LEFT JOIN usage_counters u ON u.bot_id = b.id AND u.tg_user_id = 0 AND u.period = 'month'
          AND u.period_start = ${monthStart}
        WHERE jsonb_typeof(b.limits -> 'botUsdPerMonth') = 'number'
        ORDER BY b.id`.pipe(Effect.orDie)
      return rows.map((row) => ({
        id: row.id,
        name: row.name,
        limitUsd: row.limit_usd,
        spentUsd: row.spent_usd
      }))
    })

    return AlertStore.of({
      settings,
      saveSettings,
      open,
      close,
      openAlerts,
      stoppedBots,
      failuresSince,
      llmFailingBots,
      digest,
      botBudgets
    })
  })
)
