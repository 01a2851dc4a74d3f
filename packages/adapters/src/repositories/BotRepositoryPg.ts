/** Bots in the `bots` table. */
import { BotRepository } from "@botfleet/application"
import {
  type AccessMode,
  Bot,
  type BotId,
  type BotLimits,
  BotNameTaken,
  BotNotFound,
  BotTokenInUse,
  type GroupMode,
  NO_LIMITS,
  type ProviderId,
  trusted
} from "@botfleet/domain"
import { Effect, Layer } from "effect"
import { SqlClient, type SqlError } from "effect/sql"
import { orDieSql } from "../postgres/sqlErrors.ts"
import { uniqueConstraintOf } from "../postgres/uniqueViolation.ts"

/** bigint columns arrive as JS bigint (or as text from some drivers). */
type Int8 = bigint | number | string

export interface BotRow {
  readonly id: string
  readonly name: string
  readonly token_ciphertext: string
  readonly token_hint: string
  readonly telegram_bot_id: Int8
  readonly username: string
  readonly webhook_secret: string
  readonly model: string | null
  readonly system_prompt: string
  readonly start_message: string
  readonly help_message: string
  readonly error_message: string
  readonly history_limit: number
  readonly active: boolean
  readonly last_error: string | null
  readonly last_error_at: Date | null
  readonly polling_offset: Int8
  readonly created_at: Date
  readonly updated_at: Date
  // access and limits (issue 12); jsonb may arrive parsed or as text
  readonly access: string
  readonly allowed_user_ids: unknown
  readonly allowed_chat_ids: unknown
  readonly blocked_user_ids: unknown
  readonly denied_message: string
  readonly limits: unknown
  readonly limit_message: string
  // providers (issue 12)
  readonly provider_id: string | null
  readonly fallback_model: string | null
  readonly temperature: number | null
  readonly max_output_tokens: number | null
  // conversations (issue 11)
  readonly group_mode: string
  readonly streaming: boolean
  readonly voice: boolean
  readonly vision: boolean
  // ops (issue 13)
  readonly history_retention_days: number | null
}

/** Typed for the decoder, which checks the value anyway. */
const json = <A>(value: unknown): A => (typeof value === "string" ? JSON.parse(value) : value) as A

/** A row as a Bot, trusted: the database holds what we wrote, under its column types and checks. */
export const botFromRow = (row: BotRow): Effect.Effect<Bot> =>
  Effect.sync(() =>
    trusted(Bot, {
      id: row.id as BotId,
      name: row.name,
      tokenCiphertext: row.token_ciphertext,
      tokenHint: row.token_hint,
      telegramBotId: Number(row.telegram_bot_id),
      username: row.username,
      webhookSecret: row.webhook_secret,
      model: row.model,
      systemPrompt: row.system_prompt,
      startMessage: row.start_message,
      helpMessage: row.help_message,
      errorMessage: row.error_message,
      historyLimit: row.history_limit,
      active: row.active,
      lastError: row.last_error,
      lastErrorAt: row.last_error_at,
      pollingOffset: Number(row.polling_offset),
      createdAt: row.created_at,
      updatedAt: row.updated_at,
      // access and limits (issue 12); absent limit keys are "no limit"
      access: row.access as AccessMode,
      allowedUserIds: json<ReadonlyArray<number>>(row.allowed_user_ids),
      allowedChatIds: json<ReadonlyArray<number>>(row.allowed_chat_ids),
      blockedUserIds: json<ReadonlyArray<number>>(row.blocked_user_ids),
      deniedMessage: row.denied_message,
      limits: { ...NO_LIMITS, ...json<Partial<BotLimits>>(row.limits) },
      limitMessage: row.limit_message,
      // providers (issue 12)
      providerId: row.provider_id as ProviderId | null,
      fallbackModel: row.fallback_model,
      temperature: row.temperature,
      maxOutputTokens: row.max_output_tokens,
      // conversations (issue 11)
      groupMode: row.group_mode as GroupMode,
      streaming: row.streaming,
      voice: row.voice,
      vision: row.vision,
      // ops (issue 13)
      historyRetentionDays: row.history_retention_days
    })
  )

const botColumns = (bot: Bot) => ({
  id: bot.id,
  name: bot.name,
  token_ciphertext: bot.tokenCiphertext,
  token_hint: bot.tokenHint,
  telegram_bot_id: bot.telegramBotId,
  username: bot.username,
  webhook_secret: bot.webhookSecret,
  model: bot.model,
  system_prompt: bot.systemPrompt,
  start_message: bot.startMessage,
  help_message: bot.helpMessage,
  error_message: bot.errorMessage,
  history_limit: bot.historyLimit,
  active: bot.active,
  last_error: bot.lastError,
  last_error_at: bot.lastErrorAt,
  polling_offset: bot.pollingOffset,
  created_at: bot.createdAt,
  updated_at: bot.updatedAt,
  // access and limits (issue 12)
  access: bot.access,
  allowed_user_ids: JSON.stringify(bot.allowedUserIds),
  allowed_chat_ids: JSON.stringify(bot.allowedChatIds),
  blocked_user_ids: JSON.stringify(bot.blockedUserIds),
  denied_message: bot.deniedMessage,
  limits: JSON.stringify(bot.limits),
  limit_message: bot.limitMessage,
  // providers (issue 12)
  provider_id: bot.providerId,
  fallback_model: bot.fallbackModel,
  temperature: bot.temperature,
  max_output_tokens: bot.maxOutputTokens,
  // conversations (issue 11)
  group_mode: bot.groupMode,
  streaming: bot.streaming,
  voice: bot.voice,
  vision: bot.vision,
  // ops (issue 13)
  history_retention_days: bot.historyRetentionDays
})

/** Which unique index said no tells which domain error it is; anything else is a defect. */
const uniqueToDomain =
  (bot: Bot) =>
  (error: SqlError.SqlError): Effect.Effect<never, BotNameTaken | BotTokenInUse> => {
    switch (uniqueConstraintOf(error)) {
      case "bots_name_key":
        return Effect.fail(new BotNameTaken({ name: bot.name }))
      case "bots_telegram_bot_id_key":
        return Effect.fail(new BotTokenInUse({ username: bot.username }))
      default:
        return Effect.die(error)
    }
  }

export const layer: Layer.Layer<BotRepository, never, SqlClient.SqlClient> = Layer.effect(
  BotRepository,
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const toBots = (rows: ReadonlyArray<BotRow>) => Effect.forEach(rows, botFromRow)

    const insert = Effect.fn("BotRepository.insert")(function* (bot: Bot) {
      yield* sql`INSERT INTO bots ${sql.insert(botColumns(bot))}`.pipe(
        Effect.catchTag("SqlError", uniqueToDomain(bot))
      )
    })

    const update = Effect.fn("BotRepository.update")(function* (bot: Bot) {
      const rows = yield* sql<{ id: string }>`
        UPDATE bots SET ${sql.update(botColumns(bot), ["id"])} WHERE id = ${bot.id} RETURNING id`.pipe(
        Effect.catchTag("SqlError", uniqueToDomain(bot))
      )
      if (rows.length === 0) return yield* new BotNotFound({ botId: bot.id })
    })

    const findById = Effect.fn("BotRepository.findById")(function* (id: BotId) {
      const rows = yield* sql<BotRow>`SELECT * FROM bots WHERE id = ${id}`.pipe(orDieSql)
      const row = rows[0]
      if (row === undefined) return yield* new BotNotFound({ botId: id })
      return yield* botFromRow(row)
    })

    // Byte order of the lowercased name, so the order is the same on every
    // server whatever its collation (and the same as the in-memory twin).
    const list = sql<BotRow>`SELECT * FROM bots ORDER BY lower(name) COLLATE "C", id`.pipe(
      orDieSql,
      Effect.flatMap(toBots),
      Effect.withSpan("BotRepository.list")
    )

    const listActive = sql<BotRow>`SELECT * FROM bots WHERE active ORDER BY lower(name) COLLATE "C", id`.pipe(
      orDieSql,
      Effect.flatMap(toBots),
      Effect.withSpan("BotRepository.listActive")
    )

    const listActiveTokens = sql<{ id: string; token_ciphertext: string }>`
      SELECT id, token_ciphertext FROM bots WHERE active`.pipe(
      orDieSql,
      Effect.map((rows) =>
        rows.map((row) => ({ id: row.id as BotId, tokenCiphertext: row.token_ciphertext }))
      ),
      Effect.withSpan("BotRepository.listActiveTokens")
    )

    const remove = Effect.fn("BotRepository.delete")(function* (id: BotId) {
      const rows = yield* sql<{ id: string }>`DELETE FROM bots WHERE id = ${id} RETURNING id`.pipe(orDieSql)
      if (rows.length === 0) return yield* new BotNotFound({ botId: id })
    })

    const setPollingOffset = Effect.fn("BotRepository.setPollingOffset")(function* (
      id: BotId,
      offset: number
    ) {
      yield* sql`UPDATE bots SET polling_offset = ${offset} WHERE id = ${id}`.pipe(orDieSql)
    })

    return BotRepository.of({
      insert,
      update,
      findById,
      list,
      listActive,
      listActiveTokens,
      delete: remove,
      setPollingOffset
    })
  })
)
