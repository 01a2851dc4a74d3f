/** Tool calls of replies in `tool_calls`: inserted running, updated finished. */
import { type StoredToolCall, spanFn, ToolCallRepository } from "@botfleet/application"
import type { McpServerId, MessageId } from "@botfleet/domain"
import { Effect, Layer } from "effect"
import { SqlClient } from "effect/sql"
import { orDieSql } from "../postgres/sqlErrors.ts"

interface ToolCallRow {
  readonly message_id: string
  readonly step: number
  readonly call_id: string
  readonly position: number
  readonly name: string
  readonly tool: string
  readonly mcp_server_id: string | null
  readonly arguments: string
  readonly status: string
  readonly result: string | null
  readonly is_error: boolean
  readonly started_at: Date
  readonly finished_at: Date | null
  readonly model: string
  readonly input_tokens: number
  readonly output_tokens: number
  /** numeric arrives as text. */
  readonly cost_usd: string | number
}

const fromRow = (row: ToolCallRow): StoredToolCall => ({
  messageId: row.message_id as MessageId,
  step: row.step,
  callId: row.call_id,
  position: row.position,
  name: row.name,
  tool: row.tool,
  mcpServerId: row.mcp_server_id as McpServerId | null,
  arguments: row.arguments,
  status: row.status === "finished" ? "finished" : "running",
  result: row.result,
  isError: row.is_error,
  startedAt: row.started_at,
  finishedAt: row.finished_at,
  usage: {
    model: row.model,
    inputTokens: row.input_tokens,
    outputTokens: row.output_tokens,
    costUsd: Number(row.cost_usd)
  }
})

const columns = (call: StoredToolCall) => ({
  message_id: call.messageId,
  step: call.step,
  call_id: call.callId,
  position: call.position,
  name: call.name,
  tool: call.tool,
  mcp_server_id: call.mcpServerId,
  arguments: call.arguments,
  status: call.status,
  result: call.result,
  is_error: call.isError,
  started_at: call.startedAt,
  finished_at: call.finishedAt,
  model: call.usage.model,
  input_tokens: call.usage.inputTokens,
  output_tokens: call.usage.outputTokens,
  cost_usd: call.usage.costUsd
})

export const layer: Layer.Layer<ToolCallRepository, never, SqlClient.SqlClient> = Layer.effect(
  ToolCallRepository,
  Effect.gen(function* () {
    const fn = yield* spanFn
    const sql = yield* SqlClient.SqlClient

    const forMessages = fn("ToolCallRepository.forMessages")(function* (ids: ReadonlyArray<MessageId>) {
      if (ids.length === 0) return []
      const rows = yield* sql<ToolCallRow>`
        SELECT * FROM tool_calls WHERE message_id = ANY(${`{${ids.join(",")}}`}::uuid[])
        ORDER BY message_id, step, position`.pipe(orDieSql)
      return rows.map(fromRow)
    })

    // One statement: a step's calls are stored together or not at all.
    const start = fn("ToolCallRepository.start")(function* (calls: ReadonlyArray<StoredToolCall>) {
      const [first, ...rest] = calls
      if (first === undefined) return
      yield* sql`INSERT INTO tool_calls ${sql.insert([columns(first), ...rest.map(columns)])} ON CONFLICT DO NOTHING`.pipe(
        orDieSql
      )
    })

    const finish = fn("ToolCallRepository.finish")(function* (
      key: { readonly messageId: MessageId; readonly step: number; readonly callId: string },
      outcome: { readonly result: string; readonly isError: boolean; readonly at: Date }
    ) {
      yield* sql`
        UPDATE tool_calls
        SET status = 'finished', result = ${outcome.result}, is_error = ${outcome.isError},
            finished_at = ${outcome.at}
        WHERE message_id = ${key.messageId} AND step = ${key.step} AND call_id = ${key.callId}`.pipe(orDieSql)
    })

    return ToolCallRepository.of({ forMessages, start, finish })
  })
)
