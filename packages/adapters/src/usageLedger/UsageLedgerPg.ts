/**
 * Usage counters in `usage_counters`, `usage_reservations` and `user_notices`
 *. Exact across processes: a reservation locks the user's rows
 * (FOR UPDATE), reads them, lets the domain's `checkLimits` decide, and counts
 * in the same transaction. Rows are always locked user rows first, then the
 * bot's row, so two transactions cannot wait on each other.
 */

import {
  type BotUserUsage,
  spanFn,
  type UsageKey,
  UsageLedger,
  type UsageTotals
} from "@botfleet/application"
import {
  BOT_USAGE_ROW,
  type BotId,
  type BotLimits,
  checkLimits,
  type MessageId,
  pageSize,
  snapshotOf,
  type UsageCounter,
  UserCursor,
  windowStart,
  windowsOf
} from "@botfleet/domain"
import { Effect, Layer, Option } from "effect"
import { SqlClient, SqlError } from "effect/sql"
import { dataRefusedOf, orDieSql } from "../postgres/sqlErrors.ts"

type Num = bigint | number | string

interface CounterRow {
  readonly tg_user_id: Num
  readonly period: string
  readonly messages: Num
  readonly tokens: Num
  readonly cost_usd: Num
}

const BOT_ROW = BOT_USAGE_ROW

const counterOf = (row: CounterRow): UsageCounter => ({
  userId: Number(row.tg_user_id),
  period: row.period as UsageCounter["period"],
  messages: Number(row.messages),
  tokens: Number(row.tokens),
  costUsd: Number(row.cost_usd)
})

export const layer: Layer.Layer<UsageLedger, never, SqlClient.SqlClient> = Layer.effect(
  UsageLedger,
  Effect.gen(function* () {
    const fn = yield* spanFn
    const sql = yield* SqlClient.SqlClient
    // SQL failures are infrastructure: defects here, like in every repository.
    const transaction = <A, E, R>(effect: Effect.Effect<A, E, R>) =>
      sql
        .withTransaction(effect)
        .pipe(Effect.catchIf(SqlError.isSqlError, (error) => Effect.die(dataRefusedOf(error) ?? error)))

    const userRows = (botId: BotId, userId: number, at: Date, lock: boolean) => {
      const w = windowsOf(at)
      return sql<CounterRow>`
        SELECT tg_user_id, period, messages, tokens, cost_usd FROM usage_counters
        WHERE bot_id = ${botId} AND tg_user_id = ${userId}
          AND ((period = 'minute' AND period_start = ${w.minute})
            OR (period = 'day' AND period_start = ${w.day})
            OR (period = 'month' AND period_start = ${w.month}))
        ORDER BY period ${sql.literal(lock ? "FOR UPDATE" : "")}`
    }

    const botRow = (botId: BotId, at: Date) =>
      sql<CounterRow>`
        SELECT tg_user_id, period, messages, tokens, cost_usd FROM usage_counters
        WHERE bot_id = ${botId} AND tg_user_id = ${BOT_ROW} AND period = 'month'
          AND period_start = ${windowsOf(at).month}`

    const reserve = fn("UsageLedger.reserve")(function* (key: UsageKey, limits: BotLimits, at: Date) {
      const w = windowsOf(at)
      return yield* transaction(
        Effect.gen(function* () {
          const done = yield* sql`SELECT 1 FROM usage_reservations WHERE message_id = ${key.messageId}`
          if (done.length > 0) return { _tag: "WithinLimits" } as const
          const rows: Array<CounterRow> = []
          if (key.userId !== null) {
            yield* sql`
              INSERT INTO usage_counters (bot_id, tg_user_id, period, period_start) VALUES
                (${key.botId}, ${key.userId}, 'day', ${w.day}),
                (${key.botId}, ${key.userId}, 'minute', ${w.minute}),
                (${key.botId}, ${key.userId}, 'month', ${w.month})
              ON CONFLICT DO NOTHING`
            rows.push(...(yield* userRows(key.botId, key.userId, at, true)))
          }
          yield* sql`
            INSERT INTO usage_counters (bot_id, tg_user_id, period, period_start)
            VALUES (${key.botId}, ${BOT_ROW}, 'month', ${w.month}) ON CONFLICT DO NOTHING`
          rows.push(...(yield* botRow(key.botId, at)))
          const check = checkLimits(
            limits,
            snapshotOf(rows.map(counterOf), key.userId),
            at,
            key.userId !== null
          )
          if (check._tag === "OverLimit") return check
          yield* sql`
            INSERT INTO usage_reservations (message_id, bot_id, tg_user_id, reserved_at)
            VALUES (${key.messageId}, ${key.botId}, ${key.userId ?? BOT_ROW}, ${at})`
          if (key.userId !== null) {
            yield* sql`
              UPDATE usage_counters SET messages = messages + 1
              WHERE bot_id = ${key.botId} AND tg_user_id = ${key.userId}
                AND ((period = 'minute' AND period_start = ${w.minute})
                  OR (period = 'day' AND period_start = ${w.day})
                  OR (period = 'month' AND period_start = ${w.month}))`
            // Past minutes are of no further use.
            yield* sql`
              DELETE FROM usage_counters WHERE bot_id = ${key.botId} AND tg_user_id = ${key.userId}
                AND period = 'minute' AND period_start < ${w.minute}`
          }
          yield* sql`
            UPDATE usage_counters SET messages = messages + 1
            WHERE bot_id = ${key.botId} AND tg_user_id = ${BOT_ROW} AND period = 'month'
              AND period_start = ${w.month}`
          return check
        })
      )
    })

    const settle = fn("UsageLedger.settle")(function* (
      messageId: MessageId,
      usage: { readonly tokens: number; readonly costUsd: number }
    ) {
      yield* transaction(
        Effect.gen(function* () {
          const settled = yield* sql<{ bot_id: string; tg_user_id: Num; reserved_at: Date }>`
            UPDATE usage_reservations SET settled = true
            WHERE message_id = ${messageId} AND NOT settled
            RETURNING bot_id, tg_user_id, reserved_at`
          const reservation = settled[0]
          if (reservation === undefined) return
          const w = windowsOf(reservation.reserved_at)
          const userId = Number(reservation.tg_user_id)
          if (userId !== BOT_ROW) {
            yield* sql`
              UPDATE usage_counters SET tokens = tokens + ${usage.tokens}, cost_usd = cost_usd + ${usage.costUsd}
              WHERE bot_id = ${reservation.bot_id} AND tg_user_id = ${userId}
                AND ((period = 'day' AND period_start = ${w.day}) OR (period = 'month' AND period_start = ${w.month}))`
          }
          yield* sql`
            UPDATE usage_counters SET tokens = tokens + ${usage.tokens}, cost_usd = cost_usd + ${usage.costUsd}
            WHERE bot_id = ${reservation.bot_id} AND tg_user_id = ${BOT_ROW} AND period = 'month'
              AND period_start = ${w.month}`
        })
      )
    })

    // One statement: the reservation row (already settled) makes it once per message, and
    // the counters are created or added to in the same write. No minute row: nothing reads it.
    const record = fn("UsageLedger.record")(function* (
      key: UsageKey,
      usage: { readonly tokens: number; readonly costUsd: number },
      at: Date
    ) {
      const w = windowsOf(at)
      const user = key.userId ?? BOT_ROW
      yield* sql`
        WITH first AS (
          INSERT INTO usage_reservations (message_id, bot_id, tg_user_id, reserved_at, settled)
          VALUES (${key.messageId}, ${key.botId}, ${user}, ${at}, true)
          ON CONFLICT DO NOTHING RETURNING 1
        )
        INSERT INTO usage_counters (bot_id, tg_user_id, period, period_start, messages, tokens, cost_usd)
        SELECT ${key.botId}::uuid, w.tg_user_id, w.period, w.period_start, 1, ${usage.tokens}::bigint, ${usage.costUsd}::numeric
        FROM first, (VALUES
          (${user}::bigint, 'day'::text, ${w.day}::timestamptz, true),
          (${user}::bigint, 'month', ${w.month}::timestamptz, true),
          (${BOT_ROW}::bigint, 'month', ${w.month}::timestamptz, false)
        ) AS w (tg_user_id, period, period_start, of_user)
        WHERE NOT w.of_user OR ${key.userId !== null}
        ON CONFLICT (bot_id, tg_user_id, period, period_start) DO UPDATE SET
          messages = usage_counters.messages + 1,
          tokens = usage_counters.tokens + EXCLUDED.tokens,
          cost_usd = usage_counters.cost_usd + EXCLUDED.cost_usd`.pipe(orDieSql)
    })

    // Counters created or added to in one write, like record's, with no message counted.
    const addCost = fn("UsageLedger.addCost")(function* (
      key: { readonly botId: BotId; readonly userId: number | null },
      costUsd: number,
      at: Date
    ) {
      const w = windowsOf(at)
      const user = key.userId ?? BOT_ROW
      yield* sql`
        INSERT INTO usage_counters (bot_id, tg_user_id, period, period_start, messages, tokens, cost_usd)
        SELECT ${key.botId}::uuid, w.tg_user_id, w.period, w.period_start, 0, 0, ${costUsd}::numeric
        FROM (VALUES
          (${user}::bigint, 'day'::text, ${w.day}::timestamptz, true),
          (${user}::bigint, 'month', ${w.month}::timestamptz, true),
          (${BOT_ROW}::bigint, 'month', ${w.month}::timestamptz, false)
        ) AS w (tg_user_id, period, period_start, of_user)
        WHERE NOT w.of_user OR ${key.userId !== null}
        ON CONFLICT (bot_id, tg_user_id, period, period_start) DO UPDATE SET
          cost_usd = usage_counters.cost_usd + EXCLUDED.cost_usd`.pipe(orDieSql)
    })

    const recordDenied = fn("UsageLedger.recordDenied")(function* (
      botId: BotId,
      userId: number | null,
      at: Date
    ) {
      const w = windowsOf(at)
      // The bot's day row carries the count stats read; user rows show it per user.
      if (userId !== null) {
        yield* sql`
          INSERT INTO usage_counters (bot_id, tg_user_id, period, period_start, denied) VALUES
            (${botId}, ${userId}, 'day', ${w.day}, 1),
            (${botId}, ${userId}, 'month', ${w.month}, 1)
          ON CONFLICT (bot_id, tg_user_id, period, period_start)
          DO UPDATE SET denied = usage_counters.denied + 1`.pipe(orDieSql)
      }
      yield* sql`
        INSERT INTO usage_counters (bot_id, tg_user_id, period, period_start, denied)
        VALUES (${botId}, ${BOT_ROW}, 'day', ${w.day}, 1)
        ON CONFLICT (bot_id, tg_user_id, period, period_start)
        DO UPDATE SET denied = usage_counters.denied + 1`.pipe(orDieSql)
    })

    const claimNotice = fn("UsageLedger.claimNotice")(function* (
      botId: BotId,
      userId: number | null,
      kind: string,
      start: Date
    ) {
      const rows = yield* sql`
        INSERT INTO user_notices (bot_id, tg_user_id, kind, window_start)
        VALUES (${botId}, ${userId ?? BOT_ROW}, ${kind}, ${start})
        ON CONFLICT DO NOTHING RETURNING 1`.pipe(orDieSql)
      return rows.length > 0
    })

    const usage = fn("UsageLedger.usage")(function* (botId: BotId, userId: number | null, at: Date) {
      const rows = [
        ...(userId === null ? [] : yield* userRows(botId, userId, at, false).pipe(orDieSql)),
        ...(yield* botRow(botId, at).pipe(orDieSql))
      ]
      return snapshotOf(rows.map(counterOf), userId)
    })

    const totals = (row: Record<string, unknown>, prefix: "d" | "m"): UsageTotals => ({
      messages: Number(row[`${prefix}_messages`] ?? 0),
      tokens: Number(row[`${prefix}_tokens`] ?? 0),
      costUsd: Number(row[`${prefix}_cost_usd`] ?? 0),
      denied: Number(row[`${prefix}_denied`] ?? 0)
    })

    const listUsers = fn("UsageLedger.listUsers")(function* (
      botId: BotId,
      at: Date,
      page: { readonly limit: number; readonly cursor?: string | undefined }
    ) {
      const w = windowsOf(at)
      const size = pageSize(page.limit)
      const after = Option.getOrElse(yield* UserCursor.decodeOrDie(page.cursor), () => -1)
      const rows = yield* sql<Record<string, unknown>>`
        WITH ids AS (
          SELECT tg_user_id AS id FROM chats WHERE bot_id = ${botId} AND tg_user_id IS NOT NULL
          UNION
          SELECT tg_user_id FROM usage_counters WHERE bot_id = ${botId} AND tg_user_id <> ${BOT_ROW}
        )
        SELECT ids.id, u.first_name, u.username,
          d.messages AS d_messages, d.tokens AS d_tokens, d.cost_usd AS d_cost_usd, d.denied AS d_denied,
          m.messages AS m_messages, m.tokens AS m_tokens, m.cost_usd AS m_cost_usd, m.denied AS m_denied
        FROM ids
        LEFT JOIN tg_users u ON u.telegram_id = ids.id
        LEFT JOIN usage_counters d ON d.bot_id = ${botId} AND d.tg_user_id = ids.id
          AND d.period = 'day' AND d.period_start = ${w.day}
        LEFT JOIN usage_counters m ON m.bot_id = ${botId} AND m.tg_user_id = ids.id
          AND m.period = 'month' AND m.period_start = ${w.month}
        WHERE ids.id > ${after}
        ORDER BY ids.id
        LIMIT ${size + 1}`.pipe(orDieSql)
      const items = rows.slice(0, size).map(
        (row): BotUserUsage => ({
          telegramId: Number(row.id),
          firstName: (row.first_name as string | null) ?? "",
          username: (row.username as string | null) ?? null,
          today: totals(row, "d"),
          thisMonth: totals(row, "m")
        })
      )
      return {
        items,
        nextCursor: rows.length > size ? UserCursor.encode(items[items.length - 1]!.telegramId) : null
      }
    })

    const deniedBetween = fn("UsageLedger.deniedBetween")(function* (
      botId: BotId | null,
      from: Date,
      to: Date
    ) {
      const rows = yield* sql<{ denied: Num | null }>`
        SELECT sum(denied) AS denied FROM usage_counters
        WHERE tg_user_id = ${BOT_ROW} AND period = 'day'
          AND period_start >= ${windowStart("day", from)} AND period_start < ${to}
          ${botId === null ? sql.literal("") : sql`AND bot_id = ${botId}`}`.pipe(orDieSql)
      return Number(rows[0]?.denied ?? 0)
    })

    return UsageLedger.of({
      reserve,
      record,
      settle,
      addCost,
      recordDenied,
      claimNotice,
      usage,
      listUsers,
      deniedBetween
    })
  })
)
