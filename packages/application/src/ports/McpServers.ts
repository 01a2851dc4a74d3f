/** MCP servers: where they are stored, and how one is asked for its tools and calls one. */
import type {
  McpHeadersRefused,
  McpServer,
  McpServerId,
  McpServerNameTaken,
  McpServerNotFound,
  McpServerUnreachable,
  McpTool
} from "@botfleet/domain"
import { Context, type Effect, type Redacted, type Stream } from "effect"
import type { UrlNotAllowed } from "./Outbound.ts"

export class McpServerRepository extends Context.Service<
  McpServerRepository,
  {
    readonly insert: (server: McpServer) => Effect.Effect<void, McpServerNameTaken>
    /** Replaces every field of the stored server with the same id. */
    readonly update: (server: McpServer) => Effect.Effect<void, McpServerNotFound | McpServerNameTaken>
    readonly findById: (id: McpServerId) => Effect.Effect<McpServer, McpServerNotFound>
    /** Ordered by name (case-insensitive). */
    readonly list: Effect.Effect<ReadonlyArray<McpServer>>
    readonly delete: (id: McpServerId) => Effect.Effect<void, McpServerNotFound>
  }
>()("@botfleet/application/McpServerRepository") {}

/** What reaching one server takes; the headers are decrypted only for the exchange. */
export interface McpConnection {
  readonly url: string
  readonly headers: Redacted.Redacted<Readonly<Record<string, string>>>
  /** Connecting plus the one exchange. */
  readonly timeoutMs: number
}

/** A tool's answer as text for the model; `isError`: the tool itself reported a failure. */
export interface McpToolResult {
  readonly isError: boolean
  readonly text: string
  /** The server announced `notifications/tools/list_changed` while answering. */
  readonly toolsChanged?: boolean | undefined
}

/**
 * What a server's stream of notifications says: `listening` (it is open;
 * changes before it were not heard), `changed` (tools/list_changed), or
 * `unannounced` (the server announces no tool changes, or has no such stream:
 * the stream ends).
 */
export type McpToolsEvent = "listening" | "changed" | "unannounced"

export type McpConnectError = McpServerUnreachable | McpHeadersRefused | UrlNotAllowed

export class McpConnector extends Context.Service<
  McpConnector,
  {
    /** Connects, lists every tool, disconnects. */
    readonly listTools: (connection: McpConnection) => Effect.Effect<ReadonlyArray<McpTool>, McpConnectError>
    /** Connects, calls one tool with its arguments, disconnects. */
    readonly callTool: (
      connection: McpConnection,
      tool: McpTool,
      args: Readonly<Record<string, unknown>>
    ) => Effect.Effect<McpToolResult, McpConnectError>
    /**
     * Listens for the server's tool list changing, for as long as the stream
     * is read: ends when the server ends it (read again later), fails when it
     * cannot be reached or goes quiet.
     */
    readonly watchTools: (connection: McpConnection) => Stream.Stream<McpToolsEvent, McpConnectError>
  }
>()("@botfleet/application/McpConnector") {}
