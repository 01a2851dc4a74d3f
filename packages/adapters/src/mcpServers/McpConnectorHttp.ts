/**
 * The McpConnector port on `effect/ai`'s McpClient over Streamable HTTP.
 *
 * McpClient's HTTP transport asks for an `HttpClient`; we give it one made
 * from the guarded OutboundHttp port rather than the platform's, so every
 * byte to an MCP server passes the same checks as provider calls (no
 * link-local or metadata addresses, the connected address is the checked
 * one, no redirects, bounded time and size). That client buffers each
 * answer: fine for Streamable HTTP, where the answer to a POST (JSON, or an
 * SSE stream the server ends after its response) belongs to that request.
 * McpClient skips the notifications on those answers; we read each one for
 * `tools/list_changed` first (toolsChanged.ts), so a call that changes the
 * server's tools says so. Listening between calls is `watchTools`, its own
 * stream (toolsChanged.ts).
 *
 * One connection per operation: listing tools or calling one is rare next to
 * replies, and a session kept open per server would outlive admin edits.
 */
import {
  type McpConnection,
  McpConnector,
  type McpToolResult,
  OutboundHttp,
  type OutboundRequestFailed,
  UrlNotAllowed
} from "@botfleet/application"
import { McpHeadersRefused, McpServerUnreachable, type McpTool } from "@botfleet/domain"
import { Effect, Layer, Redacted } from "effect"
import type * as McpClient from "effect/ai/McpClient"
import type { McpClientError } from "effect/ai/McpClientError"
import { HttpClient, HttpClientError, HttpClientResponse } from "effect/http"
import type * as McpSession from "./mcpSession.ts"
import { announcesToolsChanged, watchTools } from "./toolsChanged.ts"

/** Tool lists and results above this are refused: they would not fit a model's context anyway. */
const MAX_MESSAGE_BYTES = 4 * 1024 * 1024

const NO_BODY_STATUSES = new Set([101, 103, 204, 205, 304])

/** What the exchange's answers said besides their results: a refusal kept for the caller, a changed list. */
interface Heard {
  refused: UrlNotAllowed | undefined
  toolsChanged: boolean
}

/** An HttpClient whose every request goes through the guarded client; each answer is read for `heard`. */
const guardedHttpClient = (
  outbound: OutboundHttp["Service"],
  timeoutMs: number,
  heard: Heard
): HttpClient.HttpClient =>
  HttpClient.make((request, url) => {
    const body = request.body._tag === "Uint8Array" ? request.body.body : undefined
    const headers: Record<string, string> = { ...request.headers }
    if (request.body._tag === "Uint8Array") headers["content-type"] = request.body.contentType
    return outbound
      .request({
        url: url.toString(),
        method: request.method,
        headers,
        body,
        timeoutMs,
        maxBytes: MAX_MESSAGE_BYTES
      })
      .pipe(
        Effect.mapError((error: UrlNotAllowed | OutboundRequestFailed) => {
          if (error._tag === "UrlNotAllowed") heard.refused = error
          return new HttpClientError.HttpClientError({
            reason: new HttpClientError.TransportError({ request, cause: error, description: error.message })
          })
        }),
        Effect.tap((response) =>
          Effect.sync(() => {
            if (announcesToolsChanged(response.headers["content-type"], response.body))
              heard.toolsChanged = true
          })
        ),
        Effect.map((response) =>
          HttpClientResponse.fromWeb(
            request,
            new Response(NO_BODY_STATUSES.has(response.status) ? null : response.body, {
              status: response.status,
              headers: response.headers
            })
          )
        )
      )
  })

/**
 * Our words for what went wrong, never the server's: one sentence for every
 * way of not answering (no errno, timeout or status), as provider checks do,
 * so trying URLs is no port scanner. Refused headers are told apart: the
 * admin has something to fix.
 */
const UNREACHABLE = "the server could not be reached or did not answer as an MCP server over Streamable HTTP"
const toPortError = (error: McpClientError): McpServerUnreachable | McpHeadersRefused =>
  error.reason._tag === "HttpError" && (error.reason.status === 401 || error.reason.status === 403)
    ? new McpHeadersRefused({ status: error.reason.status })
    : new McpServerUnreachable({ reason: UNREACHABLE })

/**
 * effect/ai's MCP client and its schemas for every protocol revision are
 * about 13 MB per thread: loaded on the first MCP operation, not at start,
 * so a fleet without MCP servers never carries them.
 */
let loading: Promise<typeof McpSession> | undefined
const session = Effect.promise(() => {
  loading ??= import("./mcpSession.ts")
  return loading
})

export const make = Effect.gen(function* () {
  const outbound = yield* OutboundHttp

  /** Runs `use` on a client connected for this one operation; closing it ends the session. */
  const withClient = <A>(
    connection: McpConnection,
    use: (client: McpClient.McpClient, mcp: typeof McpSession) => Effect.Effect<A, McpClientError>,
    heard: Heard = { refused: undefined, toolsChanged: false }
  ): Effect.Effect<A, McpServerUnreachable | McpHeadersRefused | UrlNotAllowed> => {
    return Effect.gen(function* () {
      // The name is checked before anything is sent; connecting checks the address again.
      yield* outbound.checkUrl(connection.url)
      const mcp = yield* session
      const client = yield* mcp.connect(
        connection.url,
        Redacted.value(connection.headers),
        connection.timeoutMs,
        MAX_MESSAGE_BYTES
      )
      return yield* use(client, mcp)
    }).pipe(
      Effect.provideService(HttpClient.HttpClient, guardedHttpClient(outbound, connection.timeoutMs, heard)),
      Effect.scoped,
      Effect.catchTag("McpClientError", (error) =>
        Effect.fail(
          heard.refused !== undefined ? new UrlNotAllowed({ rule: heard.refused.rule }) : toPortError(error)
        )
      )
    )
  }

  const listTools = Effect.fn("McpConnector.listTools")(function* (connection: McpConnection) {
    return yield* withClient(connection, (client, mcp) =>
      Effect.map(client.listTools(), (tools) => tools.map(mcp.toMcpTool))
    )
  })

  const callTool = Effect.fn("McpConnector.callTool")(function* (
    connection: McpConnection,
    tool: McpTool,
    args: Readonly<Record<string, unknown>>
  ) {
    yield* Effect.annotateCurrentSpan("mcp.tool", tool.name)
    const heard: Heard = { refused: undefined, toolsChanged: false }
    const result = yield* withClient(
      connection,
      (client, mcp) =>
        client
          .callTool(
            { tool: mcp.fromMcpTool(tool), arguments: args as Record<string, unknown> },
            { timeout: `${connection.timeoutMs} millis` }
          )
          .pipe(
            Effect.map(
              (result): McpToolResult => ({ isError: result.isError === true, text: mcp.resultText(result) })
            )
          ),
      heard
    )
    return heard.toolsChanged ? { ...result, toolsChanged: true } : result
  })

  return McpConnector.of({ listTools, callTool, watchTools: watchTools(outbound) })
})

export const layer: Layer.Layer<McpConnector, never, OutboundHttp> = Layer.effect(McpConnector, make)
