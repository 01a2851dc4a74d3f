/**
 * Dashboard numbers computed by Postgres. Every query reads `messages` through
 * a range of `messages_created_idx (created_at, bot_id)` (each reply by key in
 * `messages_reply_key`), and `chats` through `chats_created_idx` and
 * `chats_user_idx`, so their cost follows the window, not the tables. The
 * plans are checked in test/repositories/stats.test.ts.
 *
 * Messages deleted by history retention live on as `message_tallies` rows
 * (what each counted for, without its content), read beside `messages` through
 * `message_tallies_created_idx`, so a purge changes no number.
 */
import { type DailyStats, type Stats, StatsRepository, type StatsRequest } from "@botfleet/application"
import { Effect, Layer } from "effect"
import { SqlClient } from "effect/sql"
import { orDieSql } from "../postgres/sqlErrors.ts"

type Int8 = bigint | number | string

/** The sums shared by the totals and each day of the series. */
interface SumsRow {
  readonly messages_in: number
  readonly messages_out: number
  readonly input_tokens: number
  readonly output_tokens: number
  readonly cost_usd: number
  readonly errors: number
}

interface TotalsRow extends SumsRow {
  readonly active_users: number
  readonly active_chats: number
}

interface DayRow extends SumsRow {
  readonly date: string
}

interface ChatsRow {
  readonly new_chats: number
  readonly new_users: number
}

interface LatencyRow {
  readonly p50: number | null
  readonly p95: number | null
}

interface TopUserRow {
  readonly telegram_id: Int8
  readonly username: string | null
  readonly first_name: string
  readonly messages: number
}

interface TopBotRow {
  readonly bot_id: string
  readonly name: string
  readonly messages: number
  readonly cost_usd: number
}

/**
 * The statements behind `compute`, apart so that tests can EXPLAIN them.
 * Counts are cast to int and sums to float8, so they arrive as JS numbers.
 */
export const statements = (sql: SqlClient.SqlClient, request: StatsRequest) => {
  const { from, to, botId } = request
  const top = Math.max(0, Math.trunc(request.top))
  const ofBot = (column: string) => (botId === null ? [] : [sql`${sql(column)} = ${botId}`])
  const inWindow = (table: string) =>
    sql.and([
      sql`${sql(table)}.created_at >= ${from}`,
      sql`${sql(table)}.created_at < ${to}`,
      ...ofBot(`${table}.bot_id`)
    ])
  const sent = sql`role IN ('assistant', 'admin') AND status = 'sent'`
  // Tokens and cost are what generating replies used, sent or not; admins' messages cost nothing.
  const sums = sql`
    count(*) FILTER (WHERE role = 'user')::int AS messages_in,
    count(*) FILTER (WHERE ${sent})::int AS messages_out,
    coalesce(sum(input_tokens) FILTER (WHERE role = 'assistant'), 0)::float8 AS input_tokens,
    coalesce(sum(output_tokens) FILTER (WHERE role = 'assistant'), 0)::float8 AS output_tokens,
    coalesce(sum(cost_usd) FILTER (WHERE role = 'assistant'), 0)::float8 AS cost_usd,
    count(*) FILTER (WHERE role IN ('assistant', 'admin') AND status = 'failed')::int AS errors`
  const dayOf = (at: Date) => sql`(${at}::timestamptz AT TIME ZONE 'UTC')`
  // The live messages of the window and the tallies of deleted ones, as one relation.
  const counted = sql`(
      SELECT chat_id, bot_id, tg_user_id, role, status, input_tokens, output_tokens, cost_usd, created_at
      FROM messages WHERE ${inWindow("messages")}
      UNION ALL
      SELECT chat_id, bot_id, tg_user_id, role, status, input_tokens, output_tokens, cost_usd, created_at
      FROM message_tallies WHERE ${inWindow("message_tallies")}
    ) AS m`

  return {
    totals: sql<TotalsRow>`
      SELECT ${sums},
        count(DISTINCT tg_user_id) FILTER (WHERE role = 'user')::int AS active_users,
        count(DISTINCT chat_id)::int AS active_chats
      FROM ${counted}`,

    // Every UTC day the window touches, days without messages as zeros.
    series: sql<DayRow>`
      SELECT to_char(d.day, 'YYYY-MM-DD') AS date,
        coalesce(s.messages_in, 0) AS messages_in,
        coalesce(s.messages_out, 0) AS messages_out,
        coalesce(s.input_tokens, 0) AS input_tokens,
        coalesce(s.output_tokens, 0) AS output_tokens,
        coalesce(s.cost_usd, 0) AS cost_usd,
        coalesce(s.errors, 0) AS errors
      FROM generate_series(date_trunc('day', ${dayOf(from)}), ${dayOf(to)}, interval '1 day') AS d (day)
      LEFT JOIN (
        SELECT date_trunc('day', created_at AT TIME ZONE 'UTC') AS day, ${sums}
        FROM ${counted}
        GROUP BY 1
      ) s ON s.day = d.day
      WHERE d.day < ${dayOf(to)}
      ORDER BY d.day`,

    // A user is new when their first chat with the bot(s) began in the window; only private
    // chats have a tg_user_id. The first chat is looked up per user in chats_user_idx.
    chats: sql<ChatsRow>`
      SELECT
        (SELECT count(*)::int FROM chats WHERE ${inWindow("chats")}) AS new_chats,
        (SELECT count(DISTINCT c.tg_user_id)::int
         FROM chats c
         WHERE ${inWindow("c")} AND c.tg_user_id IS NOT NULL
           AND (SELECT min(e.created_at) FROM chats e
                WHERE ${sql.and([sql`e.tg_user_id = c.tg_user_id`, ...ofBot("e.bot_id")])}) >= ${from}
        ) AS new_users`,

    // From each user message of the window to the last chunk of its sent reply. The reply is
    // looked up per message in messages_reply_key (a LATERAL with LIMIT is never turned into a
    // join, which may read all of that index: its size follows the table, not the window).
    latency: sql<LatencyRow>`
      SELECT
        percentile_cont(0.5) WITHIN GROUP (ORDER BY l.ms) AS p50,
        percentile_cont(0.95) WITHIN GROUP (ORDER BY l.ms) AS p95
      FROM (
        SELECT (extract(epoch FROM r.sent_at - u.created_at) * 1000)::float8 AS ms
        FROM messages u
        CROSS JOIN LATERAL (
          SELECT sent_at FROM messages
          WHERE reply_to = u.id AND role = 'assistant' AND status = 'sent' AND sent_at IS NOT NULL
          LIMIT 1
        ) r
        WHERE ${inWindow("u")} AND u.role = 'user'
        UNION ALL
        SELECT latency_ms FROM message_tallies
        WHERE ${inWindow("message_tallies")} AND role = 'user' AND latency_ms IS NOT NULL
      ) l`,

    // Ties go to the lower id, so the order is stable.
    topUsers: sql<TopUserRow>`
      SELECT t.tg_user_id AS telegram_id, u.username, u.first_name, t.messages
      FROM (
        SELECT tg_user_id, count(*)::int AS messages
        FROM ${counted}
        WHERE role = 'user' AND tg_user_id IS NOT NULL
        GROUP BY tg_user_id
        ORDER BY messages DESC, tg_user_id
        LIMIT ${top}
      ) t
      JOIN tg_users u ON u.telegram_id = t.tg_user_id
      ORDER BY t.messages DESC, t.tg_user_id`,

    topBots: sql<TopBotRow>`
      SELECT t.bot_id, b.name, t.messages, t.cost_usd
      FROM (
        SELECT bot_id,
          count(*) FILTER (WHERE role = 'user' OR (${sent}))::int AS messages,
          coalesce(sum(cost_usd) FILTER (WHERE role = 'assistant'), 0)::float8 AS cost_usd
        FROM ${counted}
        GROUP BY bot_id
        HAVING count(*) FILTER (WHERE role = 'user' OR (${sent})) > 0
        ORDER BY messages DESC, bot_id
        LIMIT ${top}
      ) t
      JOIN bots b ON b.id = t.bot_id
      ORDER BY t.messages DESC, t.bot_id`
  }
}

const sumsOf = (row: SumsRow) => ({
  messagesIn: row.messages_in,
  messagesOut: row.messages_out,
  inputTokens: row.input_tokens,
  outputTokens: row.output_tokens,
  costUsd: row.cost_usd,
  errors: row.errors
})

const one = <A>(rows: ReadonlyArray<A>): Effect.Effect<A> =>
  rows[0] === undefined
    ? Effect.die(new Error("an aggregate query returned no row"))
    : Effect.succeed(rows[0])

export const layer: Layer.Layer<StatsRepository, never, SqlClient.SqlClient> = Layer.effect(
  StatsRepository,
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient

    const compute = Effect.fn("StatsRepository.compute")(function* (request: StatsRequest) {
      yield* Effect.annotateCurrentSpan({
        from: request.from.toISOString(),
        to: request.to.toISOString(),
        botId: request.botId ?? "all"
      })
      const q = statements(sql, request)
      // Independent reads: a few pool connections for a shorter wait.
      const rows = yield* Effect.all(
        {
          totals: Effect.flatMap(q.totals, one),
          series: q.series,
          chats: Effect.flatMap(q.chats, one),
          latency: Effect.flatMap(q.latency, one),
          topUsers: q.topUsers,
          topBots: q.topBots
        },
        { concurrency: 3 }
      ).pipe(orDieSql)
      const { totals, chats, latency } = rows
      return {
        ...sumsOf(totals),
        activeUsers: totals.active_users,
        newUsers: chats.new_users,
        activeChats: totals.active_chats,
        newChats: chats.new_chats,
        replyLatencyMs: { p50: latency.p50, p95: latency.p95 },
        series: rows.series.map((row): DailyStats => ({ date: row.date, ...sumsOf(row) })),
        topUsers: rows.topUsers.map((row) => ({
          telegramId: Number(row.telegram_id),
          username: row.username,
          firstName: row.first_name,
          messages: row.messages
        })),
        topBots: rows.topBots.map((row) => ({
          botId: row.bot_id,
          name: row.name,
          messages: row.messages,
          costUsd: row.cost_usd
        }))
      } satisfies Stats
    })

    return StatsRepository.of({ compute })
  })
)
