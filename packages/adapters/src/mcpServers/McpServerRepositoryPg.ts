/** MCP servers in the `mcp_servers` table. */
import { McpServerRepository } from "@botfleet/application"
import { McpServer, type McpServerId, McpServerNameTaken, McpServerNotFound } from "@botfleet/domain"
import { Effect, Layer, Schema } from "effect"
import { SqlClient, type SqlError } from "effect/sql"
import { uniqueConstraintOf } from "../postgres/uniqueViolation.ts"

interface McpServerRow {
  readonly id: string
  readonly name: string
  readonly url: string
  readonly headers_ciphertext: string | null
  /** jsonb may arrive parsed or as text. */
  readonly header_hints: unknown
  readonly timeout_seconds: number
  readonly allowed_tools: unknown
  readonly tools: unknown
  readonly tools_refreshed_at: Date | null
  readonly created_at: Date
  readonly updated_at: Date
}

const decodeServer = Schema.decodeUnknownEffect(McpServer)

const json = (value: unknown): unknown => (typeof value === "string" ? JSON.parse(value) : value)

/** A row the schema rejects is a defect: the database holds what we wrote. */
const fromRow = (row: McpServerRow): Effect.Effect<McpServer> =>
  decodeServer({
    id: row.id,
    name: row.name,
    url: row.url,
    headersCiphertext: row.headers_ciphertext,
    headerHints: json(row.header_hints),
    timeoutSeconds: row.timeout_seconds,
    allowedTools: json(row.allowed_tools),
    tools: json(row.tools),
    toolsRefreshedAt: row.tools_refreshed_at,
    createdAt: row.created_at,
    updatedAt: row.updated_at
  }).pipe(Effect.orDie)

const encodeServer = Schema.encodeSync(McpServer)

const columns = (server: McpServer) => {
  const encoded = encodeServer(server)
  return {
    id: server.id,
    name: server.name,
    url: server.url,
    headers_ciphertext: server.headersCiphertext,
    header_hints: JSON.stringify(server.headerHints),
    timeout_seconds: server.timeoutSeconds,
    allowed_tools: JSON.stringify(server.allowedTools),
    tools: JSON.stringify(encoded.tools),
    tools_refreshed_at: server.toolsRefreshedAt,
    created_at: server.createdAt,
    updated_at: server.updatedAt
  }
}

const nameTaken =
  (server: McpServer) =>
  (error: SqlError.SqlError): Effect.Effect<never, McpServerNameTaken> =>
    uniqueConstraintOf(error) === "mcp_servers_name_key"
      ? Effect.fail(new McpServerNameTaken({ name: server.name }))
      : Effect.die(error)

export const layer: Layer.Layer<McpServerRepository, never, SqlClient.SqlClient> = Layer.effect(
  McpServerRepository,
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient

    const insert = Effect.fn("McpServerRepository.insert")(function* (server: McpServer) {
      yield* sql`INSERT INTO mcp_servers ${sql.insert(columns(server))}`.pipe(
        Effect.catchTag("SqlError", nameTaken(server))
      )
    })

    const update = Effect.fn("McpServerRepository.update")(function* (server: McpServer) {
      const rows = yield* sql<{ id: string }>`
        UPDATE mcp_servers SET ${sql.update(columns(server), ["id"])} WHERE id = ${server.id} RETURNING id`.pipe(
        Effect.catchTag("SqlError", nameTaken(server))
      )
      if (rows.length === 0) return yield* new McpServerNotFound({ mcpServerId: server.id })
    })

    const findById = Effect.fn("McpServerRepository.findById")(function* (id: McpServerId) {
      const rows = yield* sql<McpServerRow>`SELECT * FROM mcp_servers WHERE id = ${id}`.pipe(Effect.orDie)
      const row = rows[0]
      if (row === undefined) return yield* new McpServerNotFound({ mcpServerId: id })
      return yield* fromRow(row)
    })

    // Byte order of the lowercased name, as providers are listed (and as the in-memory twin sorts).
    const list = sql<McpServerRow>`SELECT * FROM mcp_servers ORDER BY lower(name) COLLATE "C", id`.pipe(
      Effect.orDie,
      Effect.flatMap((rows) => Effect.forEach(rows, fromRow)),
      Effect.withSpan("McpServerRepository.list")
    )

    const remove = Effect.fn("McpServerRepository.delete")(function* (id: McpServerId) {
      const rows = yield* sql<{ id: string }>`DELETE FROM mcp_servers WHERE id = ${id} RETURNING id`.pipe(
        Effect.orDie
      )
      if (rows.length === 0) return yield* new McpServerNotFound({ mcpServerId: id })
    })

    return McpServerRepository.of({ insert, update, findById, list, delete: remove })
  })
)
