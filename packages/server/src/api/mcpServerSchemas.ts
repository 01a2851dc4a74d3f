/** MCP servers in the admin API: bodies and the view (headers as hints, never their values). */
import type { McpServer } from "@botfleet/domain"
import { McpServerModel } from "@botfleet/domain"
import { Schema } from "effect"
import { InputString, IsoDate } from "./schemas.ts"

const Name = InputString.check(
  Schema.isTrimmed(),
  Schema.isMinLength(1),
  Schema.isMaxLength(McpServerModel.MCP_SERVER_NAME_MAX)
)

/** A Streamable HTTP endpoint: http(s), a host, optional port, path and query; no credentials or fragment. */
const Url = InputString.check(
  Schema.isMaxLength(2000),
  Schema.isPattern(/^https?:\/\/(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+)(:\d{1,5})?(\/[^\s#]*)?$/, {
    expected: "an http(s) URL without credentials or fragment"
  }),
  Schema.makeFilter((text: string) => URL.canParse(text), { expected: "a URL with a valid host and port" })
).annotate({ description: "the server's Streamable HTTP endpoint, e.g. https://mcp.example.com/mcp" })

/** Headers the MCP transport sets itself, or that would change what the request is. */
const RESERVED_HEADERS = new Set([
  "accept",
  "connection",
  "content-length",
  "content-type",
  "host",
  "mcp-protocol-version",
  "mcp-session-id",
  "transfer-encoding"
])

const HeaderName = InputString.check(
  Schema.isMaxLength(100),
  Schema.isPattern(/^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/, { expected: "an HTTP header name" }),
  Schema.makeFilter((name: string) => !RESERVED_HEADERS.has(name.toLowerCase()), {
    expected: "a header the MCP transport does not set itself"
  })
)

/** Visible ASCII and spaces ("Bearer …"), as HTTP header values are safely sent. */
const HeaderValue = InputString.check(
  Schema.isMinLength(1),
  Schema.isMaxLength(4000),
  Schema.isPattern(/^[\x21-\x7E]([\x20-\x7E]*[\x21-\x7E])?$/, {
    expected: "visible ASCII characters (inner spaces allowed)"
  })
)

/** Write only; replaces every stored header ({}: none). */
const Headers = Schema.Record(HeaderName, HeaderValue).check(Schema.isMaxProperties(20))

const TimeoutSeconds = Schema.Int.check(
  Schema.isBetween({ minimum: 1, maximum: McpServerModel.MAX_TIMEOUT_SECONDS })
)

const AllowedTools = Schema.Array(InputString.check(Schema.isMinLength(1), Schema.isMaxLength(200))).check(
  Schema.isMaxLength(1000)
)

export const CreateMcpServer = Schema.Struct({
  name: Name,
  url: Url,
  headers: Schema.optional(Headers),
  /** Default 30. */
  timeoutSeconds: Schema.optional(TimeoutSeconds),
  /** Names among the tools the server lists; default none. */
  allowedTools: Schema.optional(AllowedTools)
})

export const UpdateMcpServer = Schema.Struct({
  name: Schema.optional(Name),
  url: Schema.optional(Url),
  headers: Schema.optional(Headers),
  timeoutSeconds: Schema.optional(TimeoutSeconds),
  /** Replaces the whole list. */
  allowedTools: Schema.optional(AllowedTools)
})

export const McpToolView = Schema.Struct({
  name: Schema.String,
  title: Schema.NullOr(Schema.String),
  description: Schema.NullOr(Schema.String),
  inputSchema: Schema.Record(Schema.String, Schema.Unknown),
  /** Bots may call it. */
  allowed: Schema.Boolean
})

export const McpServerView = Schema.Struct({
  id: Schema.String,
  name: Schema.String,
  url: Schema.String,
  /** Header names with the last four characters of their values; the values are never returned. */
  headerHints: Schema.Record(Schema.String, Schema.String),
  timeoutSeconds: Schema.Number,
  allowedTools: Schema.Array(Schema.String),
  /** What the server listed at `toolsRefreshedAt`. */
  tools: Schema.Array(McpToolView),
  toolsRefreshedAt: Schema.NullOr(IsoDate),
  createdAt: IsoDate,
  updatedAt: IsoDate
})
export type McpServerView = typeof McpServerView.Type

export const toMcpServerView = (server: McpServer): McpServerView => ({
  id: server.id,
  name: server.name,
  url: server.url,
  headerHints: server.headerHints,
  timeoutSeconds: server.timeoutSeconds,
  allowedTools: server.allowedTools,
  tools: server.tools.map((tool) => ({ ...tool, allowed: server.allowedTools.includes(tool.name) })),
  toolsRefreshedAt: server.toolsRefreshedAt?.toISOString() ?? null,
  createdAt: server.createdAt.toISOString(),
  updatedAt: server.updatedAt.toISOString()
})
