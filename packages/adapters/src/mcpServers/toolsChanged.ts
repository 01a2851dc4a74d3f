/**
 * Hearing an MCP server say its tools changed (`notifications/tools/list_changed`),
 * two ways, both through the guarded client:
 *
 * - In the answer to a request we make: a server may send the notification
 *   on the same response (JSON or SSE) before the result, as effect/ai's
 *   McpServer does when a call itself changes the list. `announcesToolsChanged`
 *   reads a buffered answer for it.
 * - On a stream held open for it: the 2026-07-28 revision's
 *   `subscriptions/listen` (a POST whose SSE answer stays open with
 *   keep-alives), asked only of a server whose `server/discover` says
 *   `capabilities.tools.listChanged`. 2025-11-25 servers keep a GET stream
 *   per session instead; a server that speaks only that revision answers
 *   discover with an error and is not listened to (its list changes on a
 *   call's answer or a refresh).
 *
 * Each stream holds one socket for as long as it is read; the watch in
 * application/mcpServers keeps one per server a bot uses, per process.
 */
import {
  type McpConnectError,
  type McpConnection,
  type McpToolsEvent,
  type OutboundHttp,
  type OutboundRequestFailed,
  UrlNotAllowed
} from "@botfleet/application"
import { McpHeadersRefused, McpServerUnreachable } from "@botfleet/domain"
import { Effect, Redacted, Stream } from "effect"
import { Sse } from "effect/encoding"

const LIST_CHANGED = "notifications/tools/list_changed"
const ACKNOWLEDGED = "notifications/subscriptions/acknowledged"
const MODERN = "2026-07-28"
/** One notification is a few hundred bytes; anything far larger is not one we read. */
const MAX_EVENT_BYTES = 64 * 1024
/** The server's keep-alives come every 15 s (effect/ai's McpServer); quiet for longer, the stream is gone. */
export const IDLE_MS = 45_000

const decoder = new TextDecoder()
const marker = new TextEncoder().encode(LIST_CHANGED)

const isListChanged = (message: unknown): boolean =>
  typeof message === "object" && message !== null && (message as { method?: unknown }).method === LIST_CHANGED

const parseJson = (text: string): unknown => {
  try {
    return JSON.parse(text)
  } catch {
    return undefined
  }
}

/** The JSON-RPC messages of an SSE text, each event's data parsed. */
const sseMessages = (text: string): Array<unknown> => {
  const messages: Array<unknown> = []
  const parser = Sse.makeParser(
    (event) => {
      if (event._tag === "Event" && event.data !== "") messages.push(parseJson(event.data))
    },
    { maxEventSize: 4 * 1024 * 1024 }
  )
  parser.feed(text)
  parser.feed("\n\n")
  return messages
}

/** Does this buffered answer (JSON, a batch, or SSE) carry tools/list_changed? */
export const announcesToolsChanged = (contentType: string | undefined, body: Uint8Array): boolean => {
  // Most answers do not mention it at all: no parse for them.
  if (Buffer.from(body.buffer, body.byteOffset, body.byteLength).indexOf(marker) < 0) return false
  const type = contentType?.split(";", 1)[0]?.trim().toLowerCase()
  const text = decoder.decode(body)
  const messages =
    type === "text/event-stream"
      ? sseMessages(text)
      : type === "application/json"
        ? [parseJson(text)].flat()
        : []
  return messages.some(isListChanged)
}

const UNREACHABLE = "the server could not be reached or did not answer as an MCP server over Streamable HTTP"

const unreachable = () => new McpServerUnreachable({ reason: UNREACHABLE })

/** A refusal stays a refusal (the admin has a URL to fix); every other failure is "unreachable". */
const toPortError = (error: UrlNotAllowed | OutboundRequestFailed): McpConnectError =>
  error._tag === "UrlNotAllowed" ? new UrlNotAllowed({ rule: error.rule }) : unreachable()

const meta = {
  "io.modelcontextprotocol/protocolVersion": MODERN,
  "io.modelcontextprotocol/clientInfo": { name: "botfleet", version: "1.0.0" },
  "io.modelcontextprotocol/clientCapabilities": {}
}

const post = (connection: McpConnection, id: number, method: string, params: Record<string, unknown>) => ({
  url: connection.url,
  method: "POST",
  headers: {
    ...Redacted.value(connection.headers),
    "content-type": "application/json",
    accept: "application/json, text/event-stream",
    "mcp-protocol-version": MODERN,
    "mcp-method": method
  },
  body: JSON.stringify({ jsonrpc: "2.0", id, method, params: { ...params, _meta: meta } }),
  timeoutMs: connection.timeoutMs
})

/** 401/403: the headers are refused; 400/404/405: no such revision or method here; else unreachable. */
const statusError = (status: number): McpConnectError | "unsupported" =>
  status === 401 || status === 403
    ? new McpHeadersRefused({ status })
    : status === 400 || status === 404 || status === 405
      ? "unsupported"
      : unreachable()

/** Does the server speak 2026-07-28 and say it announces tool changes? */
const discover = (outbound: OutboundHttp["Service"], connection: McpConnection) =>
  Effect.gen(function* () {
    const response = yield* outbound
      .request({ ...post(connection, 1, "server/discover", {}), maxBytes: MAX_EVENT_BYTES })
      .pipe(Effect.mapError(toPortError))
    if (response.status < 200 || response.status >= 300) {
      const error = statusError(response.status)
      return error === "unsupported" ? false : yield* Effect.fail(error)
    }
    const type = response.headers["content-type"]?.split(";", 1)[0]?.trim().toLowerCase()
    const text = decoder.decode(response.body)
    const messages = type === "text/event-stream" ? sseMessages(text) : [parseJson(text)]
    const result = messages
      .map((message) => (message as { result?: unknown } | undefined)?.result)
      .find((result) => typeof result === "object" && result !== null) as
      | {
          readonly supportedVersions?: unknown
          readonly capabilities?: { readonly tools?: { readonly listChanged?: unknown } }
        }
      | undefined
    return (
      Array.isArray(result?.supportedVersions) &&
      result.supportedVersions.includes(MODERN) &&
      result.capabilities?.tools?.listChanged === true
    )
  })

/** The server's notifications as events, read from its `subscriptions/listen` stream. */
export const watchTools =
  (outbound: OutboundHttp["Service"]) =>
  (connection: McpConnection): Stream.Stream<McpToolsEvent, McpConnectError> =>
    Stream.unwrap(
      Effect.gen(function* () {
        yield* outbound.checkUrl(connection.url)
        if (!(yield* discover(outbound, connection))) return Stream.succeed<McpToolsEvent>("unannounced")
        const response = yield* outbound
          .open({
            ...post(connection, 2, "subscriptions/listen", { notifications: { toolsListChanged: true } }),
            idleMs: IDLE_MS
          })
          .pipe(Effect.mapError(toPortError))
        if (response.status < 200 || response.status >= 300) {
          const error = statusError(response.status)
          return error === "unsupported" ? Stream.succeed<McpToolsEvent>("unannounced") : Stream.fail(error)
        }
        if (!response.headers["content-type"]?.toLowerCase().startsWith("text/event-stream")) {
          return Stream.fail(unreachable())
        }
        const events: Array<McpToolsEvent> = []
        const parser = Sse.makeParser(
          (event) => {
            if (event._tag !== "Event" || event.data === "") return
            const message = parseJson(event.data) as { method?: unknown } | undefined
            if (message?.method === ACKNOWLEDGED) events.push("listening")
            else if (isListChanged(message)) events.push("changed")
          },
          { maxEventSize: MAX_EVENT_BYTES }
        )
        return response.body.pipe(
          Stream.mapError(unreachable),
          Stream.decodeText(),
          Stream.flatMap((chunk) =>
            parser.feed(chunk) === undefined
              ? Stream.fromIterable(events.splice(0))
              : Stream.fail<McpConnectError>(unreachable())
          )
        )
      })
    )
