/** Bots in the `bots` table. */
import { BotRepository } from "@botfleet/application"
import {
  Bot,
  type BotId,
  BotNameTaken,
  BotNotFound,
  type BotSettingName,
  type BotSettings,
  BotTokenInUse,
  botSettingNames,
  initialBotSettings,
  trusted
} from "@botfleet/domain"
import { Effect, Layer } from "effect"
import { SqlClient, type SqlError } from "effect/sql"
import { orDieSql } from "../postgres/sqlErrors.ts"
import { uniqueConstraintOf } from "../postgres/uniqueViolation.ts"

/** bigint columns arrive as JS bigint (or as text from some drivers). */
type Int8 = bigint | number | string

/** A setting's column: its name in snake_case (`historyLimit` is `history_limit`). */
const columnOf = (name: BotSettingName): string =>
  name.replace(/[A-Z]/g, (letter) => `_${letter.toLowerCase()}`)

const settingColumns = botSettingNames.map((name) => [name, columnOf(name)] as const)

/** Lists and objects are jsonb columns: written as JSON text, read parsed (or as text). */
const isJson = (name: BotSettingName): boolean =>
  typeof initialBotSettings[name] === "object" && initialBotSettings[name] !== null

export interface BotRow {
  readonly id: string
  readonly name: string
  readonly token_ciphertext: string
  readonly token_hint: string
  readonly telegram_bot_id: Int8
  readonly username: string
  readonly webhook_secret: string
  readonly active: boolean
  readonly last_error: string | null
  readonly last_error_at: Date | null
  readonly polling_offset: Int8
  readonly created_at: Date
  readonly updated_at: Date
  /** One column per setting (BotSettings.ts). */
  readonly [column: string]: unknown
}

/**
 * A setting as stored. An object's keys missing from the stored one take
 * their initial values (a limit added later reads as "no limit").
 */
const settingFromColumn = (name: BotSettingName, value: unknown): unknown => {
  if (!isJson(name)) return value
  const parsed: unknown = typeof value === "string" ? JSON.parse(value) : value
  const initial = initialBotSettings[name]
  return Array.isArray(initial) ? parsed : { ...(initial as object), ...(parsed as object) }
}

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
      active: row.active,
      lastError: row.last_error,
      lastErrorAt: row.last_error_at,
      pollingOffset: Number(row.polling_offset),
      createdAt: row.created_at,
      updatedAt: row.updated_at,
      ...(Object.fromEntries(
        settingColumns.map(([name, column]) => [name, settingFromColumn(name, row[column])])
      ) as unknown as BotSettings)
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
  active: bot.active,
  last_error: bot.lastError,
  last_error_at: bot.lastErrorAt,
  polling_offset: bot.pollingOffset,
  created_at: bot.createdAt,
  updated_at: bot.updatedAt,
  ...Object.fromEntries(
    settingColumns.map(([name, column]) => [column, isJson(name) ? JSON.stringify(bot[name]) : bot[name]])
  )
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

    // The version migration 0146's triggers move (providers move it too: a full read more, no harm).
    const changeVersion = sql<{ version: string | number }>`SELECT version FROM settings_version`.pipe(
      orDieSql,
      Effect.map((rows) => Number(rows[0]?.version ?? 0)),
      Effect.withSpan("BotRepository.changeVersion")
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
      changeVersion,
      delete: remove,
      setPollingOffset
    })
  })
)
