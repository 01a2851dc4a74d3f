/**
 * Requests to URLs an admin (or a model) supplies, through one guarded client:
 * http(s) only, no link-local or metadata addresses, loopback and private
 * ranges only while OUTBOUND_PRIVATE_NETWORKS allows them, the address
 * checked is the one connected to, no redirects, bounded time and size.
 */
import { Context, type Effect, Schema, type Scope, type Stream } from "effect"

/** The URL may not be reached; `rule` says which rule refused it, never a secret part of the URL. */
export class UrlNotAllowed extends Schema.TaggedError<UrlNotAllowed>()("UrlNotAllowed", {
  rule: Schema.String
}) {
  override get message() {
    return `URL not allowed: ${this.rule}`
  }
}

/** The exchange did not complete; `description` is ours, never the foreign host's words. */
export class OutboundRequestFailed extends Schema.TaggedError<OutboundRequestFailed>()(
  "OutboundRequestFailed",
  {
    reason: Schema.Literals(["unreachable", "timeout", "too_large", "aborted"]),
    description: Schema.String
  }
) {
  override get message() {
    return this.description
  }
}

export interface OutboundRequest {
  readonly url: string
  /** Default GET. */
  readonly method?: string | undefined
  readonly headers?: Readonly<Record<string, string>> | undefined
  readonly body?: string | Uint8Array | undefined
  /** The whole exchange; default 10 seconds. */
  readonly timeoutMs?: number | undefined
  /** A longer answer fails (`too_large`); default 1 MiB. */
  readonly maxBytes?: number | undefined
}

export interface OutboundResponse {
  /** Any status, 3xx included: redirects are not followed. */
  readonly status: number
  /** Lower-case names; repeated headers joined with ", ". */
  readonly headers: Readonly<Record<string, string>>
  readonly body: Uint8Array
}

/** A request whose answer is read as it comes (a server's event stream), for as long as it lasts. */
export interface OutboundStreamRequest extends Omit<OutboundRequest, "maxBytes"> {
  /** `timeoutMs` bounds connecting and the answer's headers; then no byte for this long fails it. */
  readonly idleMs: number
}

export interface OutboundStream {
  readonly status: number
  /** Lower-case names; repeated headers joined with ", ". */
  readonly headers: Readonly<Record<string, string>>
  /** The body as it arrives; fails when the server goes quiet past `idleMs` or cuts it off. */
  readonly body: Stream.Stream<Uint8Array, OutboundRequestFailed>
}

export class OutboundHttp extends Context.Service<
  OutboundHttp,
  {
    /**
     * May requests go to this URL? Its scheme, and its address or every
     * address its name resolves to now (connecting checks again).
     */
    readonly checkUrl: (url: string) => Effect.Effect<void, UrlNotAllowed>
    readonly request: (
      request: OutboundRequest
    ) => Effect.Effect<OutboundResponse, UrlNotAllowed | OutboundRequestFailed>
    /**
     * The same checks, the answer streamed: open until the body ends, fails,
     * or the scope closes (which closes the connection). The reader bounds
     * what it keeps of it.
     */
    readonly open: (
      request: OutboundStreamRequest
    ) => Effect.Effect<OutboundStream, UrlNotAllowed | OutboundRequestFailed, Scope.Scope>
  }
>()("@botfleet/application/OutboundHttp") {}
