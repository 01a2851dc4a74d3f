/** Running summaries in `thread_summaries`: one per span, newest first. */
import { spanFn, ThreadSummaries } from "@botfleet/application"
import { type BotId, type ChatId, type MessageId, ThreadSummary, trusted } from "@botfleet/domain"
import { Effect, Layer, Option } from "effect"
import { SqlClient } from "effect/sql"
import { orDieSql } from "../postgres/sqlErrors.ts"

interface SummaryRow {
  readonly id: string
  readonly bot_id: string
  readonly chat_id: string
  readonly thread: number
  readonly topic_id: number | null
  readonly covers_up_to: string
  readonly covers_up_to_at: Date
  readonly text: string
  readonly model: string
  readonly input_tokens: number
  readonly output_tokens: number
  /** numeric arrives as text. */
  readonly cost_usd: string | number
  readonly charged_to: string
  readonly created_at: Date
}

const summaryFromRow = (row: SummaryRow): ThreadSummary =>
  trusted(ThreadSummary, {
    id: row.id,
    botId: row.bot_id as BotId,
    chatId: row.chat_id as ChatId,
    thread: row.thread,
    topicId: row.topic_id,
    coversUpTo: row.covers_up_to as MessageId,
    coversUpToAt: row.covers_up_to_at,
    text: row.text,
    model: row.model,
    inputTokens: row.input_tokens,
    outputTokens: row.output_tokens,
    costUsd: Number(row.cost_usd),
    chargedTo: row.charged_to as MessageId,
    createdAt: row.created_at
  })

export const layer: Layer.Layer<ThreadSummaries, never, SqlClient.SqlClient> = Layer.effect(
  ThreadSummaries,
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const fn = yield* spanFn

    const latest = fn("ThreadSummaries.latest")(function* (
      chatId: ChatId,
      thread: number,
      topicId: number | null
    ) {
      const rows = yield* sql<SummaryRow>`
        SELECT * FROM thread_summaries
        WHERE chat_id = ${chatId} AND thread = ${thread}
          AND ${topicId === null ? sql`topic_id IS NULL` : sql`topic_id = ${topicId}`}
        ORDER BY covers_up_to_at DESC, covers_up_to DESC
        LIMIT 1`.pipe(orDieSql)
      return Option.map(Option.fromUndefinedOr(rows[0]), summaryFromRow)
    })

    // The unique key on covers_up_to: a rerun that made the same summary again stores nothing.
    const insert = fn("ThreadSummaries.insert")(function* (summary: ThreadSummary) {
      const rows = yield* sql`
        INSERT INTO thread_summaries (id, bot_id, chat_id, thread, topic_id, covers_up_to, covers_up_to_at,
          text, model, input_tokens, output_tokens, cost_usd, charged_to, created_at)
        VALUES (${summary.id}, ${summary.botId}, ${summary.chatId}, ${summary.thread}, ${summary.topicId},
          ${summary.coversUpTo}, ${summary.coversUpToAt}, ${summary.text}, ${summary.model},
          ${summary.inputTokens}, ${summary.outputTokens}, ${summary.costUsd}, ${summary.chargedTo},
          ${summary.createdAt})
        ON CONFLICT (covers_up_to) DO NOTHING
        RETURNING 1`.pipe(orDieSql)
      return rows.length > 0
    })

    const listByChat = fn("ThreadSummaries.listByChat")(function* (chatId: ChatId, limit: number) {
      const rows = yield* sql<SummaryRow>`
        SELECT * FROM thread_summaries WHERE chat_id = ${chatId}
        ORDER BY covers_up_to_at DESC, covers_up_to DESC
        LIMIT ${Math.max(1, Math.trunc(limit))}`.pipe(orDieSql)
      return rows.map(summaryFromRow)
    })

    return ThreadSummaries.of({ latest, insert, listByChat })
  })
)
