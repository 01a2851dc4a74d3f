/**
 * An MCP server: a remote set of tools a bot may call, reached over
 * Streamable HTTP. Its headers (a bearer token, an API key) are kept
 * encrypted like provider keys and shown only as hints; the tools it last
 * listed are kept with it, and bots are offered only the allowed ones.
 */
import { Effect, Schema } from "effect"

export const McpServerId = Schema.String.check(Schema.isUUID()).pipe(Schema.brand("McpServerId"))
export type McpServerId = typeof McpServerId.Type

/** A tool as the server describes it; `inputSchema` is its JSON Schema, kept as sent. */
export const McpTool = Schema.Struct({
  name: Schema.String,
  title: Schema.NullOr(Schema.String),
  description: Schema.NullOr(Schema.String),
  inputSchema: Schema.Record(Schema.String, Schema.Unknown),
  /** The server's `idempotentHint`: a call cut short by a restart may be made again. Absent: not. */
  idempotent: Schema.optionalKey(Schema.Boolean)
})
export type McpTool = typeof McpTool.Type

export class McpServer extends Schema.Class<McpServer>("McpServer")({
  id: McpServerId,
  name: Schema.String,
  /** The Streamable HTTP endpoint, e.g. `https://mcp.example.com/mcp`. */
  url: Schema.String,
  /** The encrypted JSON object of header names to values; null: no headers. */
  headersCiphertext: Schema.NullOr(Schema.String),
  /** Header name to the hint of its value, so an admin can tell which header holds what. */
  headerHints: Schema.Record(Schema.String, Schema.String),
  timeoutSeconds: Schema.Int,
  /** The tools bots may call, by name; one the server adds later stays off until allowed. */
  allowedTools: Schema.Array(Schema.String),
  /** What the server listed at `toolsRefreshedAt`. */
  tools: Schema.Array(McpTool).pipe(
    Schema.withConstructorDefault(Effect.succeed<ReadonlyArray<McpTool>>([]))
  ),
  toolsRefreshedAt: Schema.NullOr(Schema.Date),
  createdAt: Schema.Date,
  updatedAt: Schema.Date
}) {}

export const MCP_SERVER_NAME_MAX = 64
export const DEFAULT_TIMEOUT_SECONDS = 30
export const MAX_TIMEOUT_SECONDS = 300

/** The last four characters of a long value, nothing of a short one: as provider keys. */
export const headerHint = (value: string): string => (value.length >= 12 ? `…${value.slice(-4)}` : "…")

/** The allowed tools among those the server lists now: a name it no longer lists is not offered. */
export const offeredTools = (server: McpServer): ReadonlyArray<McpTool> =>
  server.tools.filter((tool) => server.allowedTools.includes(tool.name))

export class McpServerNotFound extends Schema.TaggedError<McpServerNotFound>()(
  "McpServerNotFound",
  { mcpServerId: Schema.String },
  { httpApiStatus: 404 }
) {
  override get message() {
    return `MCP server ${this.mcpServerId} not found`
  }
}

export class McpServerNameTaken extends Schema.TaggedError<McpServerNameTaken>()(
  "McpServerNameTaken",
  { name: Schema.String },
  { httpApiStatus: 409 }
) {
  override get message() {
    return `an MCP server named "${this.name}" already exists`
  }
}

/** Bots still use the server: detach it from them first. */
export class McpServerInUse extends Schema.TaggedError<McpServerInUse>()(
  "McpServerInUse",
  { mcpServerId: Schema.String, bots: Schema.Array(Schema.String) },
  { httpApiStatus: 409 }
) {
  override get message() {
    const one = this.bots.length <= 1
    const named = this.bots.length === 0 ? "a bot" : `${one ? "bot" : "bots"} ${this.bots.join(", ")}`
    return `the MCP server is used by ${named}; remove it from ${one ? "that bot" : "them"} first`
  }
}

/**
 * The server could not be asked, or did not answer as an MCP server does
 * (unreachable, timeout, an HTTP error, not the protocol). The description is
 * ours, never the foreign server's words.
 */
export class McpServerUnreachable extends Schema.TaggedError<McpServerUnreachable>()(
  "McpServerUnreachable",
  { reason: Schema.String },
  { httpApiStatus: 503 }
) {
  override get message() {
    return `the MCP server could not be asked for its tools: ${this.reason}`
  }
}

/** The server refused the headers (401 or 403): wrong or missing credentials. Nothing is stored. */
export class McpHeadersRefused extends Schema.TaggedError<McpHeadersRefused>()(
  "McpHeadersRefused",
  { status: Schema.Int },
  { httpApiStatus: 422 }
) {
  override get message() {
    return `the MCP server refused the headers (HTTP ${this.status}): check its credentials`
  }
}

/** A tool the server does not list (or no longer lists), or one not allowed. */
export class McpToolUnavailable extends Schema.TaggedError<McpToolUnavailable>()(
  "McpToolUnavailable",
  { tool: Schema.String },
  { httpApiStatus: 422 }
) {
  override get message() {
    return `the tool ${this.tool} is not allowed or not offered by the server`
  }
}
