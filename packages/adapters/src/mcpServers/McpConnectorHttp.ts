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
import { Effect, Layer, Redacted, Schema } from "effect"
import { McpClient, McpProtocol, McpSchema } from "effect/ai"
import type { McpClientError } from "effect/ai/McpClientError"
import { HttpClient, HttpClientError, HttpClientResponse } from "effect/http"
import { announcesToolsChanged, watchTools } from "./toolsChanged.ts"

/** Tool lists and results above this are refused: they would not fit a model's context anyway. */
const MAX_MESSAGE_BYTES = 4 * 1024 * 1024

/** The widest-spoken revision with Streamable HTTP; sessions are opened and closed per operation. */
const PROTOCOL = McpProtocol.v2025_11_25

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

const toMcpTool = (tool: McpSchema.Tool): McpTool => ({
  name: tool.name,
  title: tool.title ?? null,
  description: tool.description ?? null,
  inputSchema: tool.inputSchema as Record<string, unknown>,
  ...(tool.annotations?.idempotentHint === true ? { idempotent: true } : {})
})

const decodeTool = Schema.decodeUnknownSync(McpSchema.Tool)
const fromMcpTool = (tool: McpTool): McpSchema.Tool =>
  decodeTool({
    name: tool.name,
    ...(tool.title === null ? {} : { title: tool.title }),
    ...(tool.description === null ? {} : { description: tool.description }),
    inputSchema: tool.inputSchema
  })

/** Text of every block the model can read; other blocks (images, audio) are named, not sent. */
const resultText = (result: McpSchema.CallToolResult): string => {
  const parts: Array<string> = []
  for (const block of result.content) {
    if (block.type === "text") parts.push(block.text)
    else if (block.type === "resource" && "text" in block.resource) parts.push(block.resource.text)
    else if (block.type === "resource_link") parts.push(`${block.name}: ${block.uri}`)
    else parts.push(`[${block.type} content omitted]`)
  }
  return parts.length === 0 && result.structuredContent !== undefined
    ? JSON.stringify(result.structuredContent)
    : parts.join("\n")
}

export const make = Effect.gen(function* () {
  const outbound = yield* OutboundHttp

  /** Runs `use` on a client connected for this one operation; closing it ends the session. */
  const withClient = <A>(
    connection: McpConnection,
    use: (client: McpClient.McpClient) => Effect.Effect<A, McpClientError>,
    heard: Heard = { refused: undefined, toolsChanged: false }
  ): Effect.Effect<A, McpServerUnreachable | McpHeadersRefused | UrlNotAllowed> => {
    return Effect.gen(function* () {
      // The name is checked before anything is sent; connecting checks the address again.
      yield* outbound.checkUrl(connection.url)
      const transport = yield* McpClient.http({
        url: connection.url,
        protocol: PROTOCOL,
        headers: Redacted.value(connection.headers),
        maxMessageBytes: MAX_MESSAGE_BYTES
      })
      const client = yield* McpClient.make({
        name: "botfleet",
        version: "1.0.0",
        timeout: `${connection.timeoutMs} millis`
      }).pipe(Effect.provideService(McpClient.Transport, transport))
      return yield* use(client)
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
    return yield* withClient(connection, (client) =>
      Effect.map(client.listTools(), (tools) => tools.map(toMcpTool))
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
      (client) =>
        client
          .callTool(
            { tool: fromMcpTool(tool), arguments: args as Record<string, unknown> },
            { timeout: `${connection.timeoutMs} millis` }
          )
          .pipe(
            Effect.map(
              (result): McpToolResult => ({ isError: result.isError === true, text: resultText(result) })
            )
          ),
      heard
    )
    return heard.toolsChanged ? { ...result, toolsChanged: true } : result
  })

  return McpConnector.of({ listTools, callTool, watchTools: watchTools(outbound) })
})

export const layer: Layer.Layer<McpConnector, never, OutboundHttp> = Layer.effect(McpConnector, make)
