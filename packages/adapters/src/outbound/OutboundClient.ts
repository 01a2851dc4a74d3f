/**
 * The one guarded way out for URLs an admin (or a model) supplies: provider
 * probes and calls, alert webhooks, and whatever fetches tools, MCP servers
 * or documents later. What it guarantees:
 *
 * - http and https only; an IP literal is checked before anything is sent
 *   (addresses.ts: metadata, link-local, unspecified, multicast, broadcast
 *   always refused; loopback and private ranges unless privateNetworks is
 *   "deny"). The WHATWG URL parser has already turned `2852039166`,
 *   `0xa9fea9fe` or `0251.0376.0251.0376` into `169.254.169.254`.
 * - A name is resolved once, at connect time, by `lookup`: every address it
 *   resolves to is checked and the socket connects to one of those, so a
 *   name cannot pass the check and then rebind to another address.
 * - Redirects are never followed (node:http does not): a 3xx is returned as
 *   it is, and callers treat it as a failure.
 * - One timer bounds the whole exchange; the body is cut off at `maxBytes`.
 *
 * Kept-alive clients of their own (chatCompletionsHttp.ts) use `parseUrl`
 * once and put `lookup` on their agent: sockets are checked when they are
 * opened, so a reused socket costs nothing more.
 */
import dns from "node:dns"
import http from "node:http"
import https from "node:https"
import type { LookupFunction } from "node:net"
import { classifyAddress, type PrivateNetworks, refusalOf } from "./addresses.ts"

/**
 * What a request and an opened stream share until the answer starts: one
 * timeout, the caller's abort and connection errors each end it once, with the
 * request destroyed. `settle` ends the watch when the answer is taken.
 */
const watchOutgoing = (
  outgoing: http.ClientRequest,
  signal: AbortSignal | undefined,
  timeoutMs: number,
  reject: (error: Error) => void
) => {
  let done = false
  const settle = () => {
    done = true
    clearTimeout(timer)
    signal?.removeEventListener("abort", onAbort)
  }
  const fail = (error: Error) => {
    if (done) return
    settle()
    outgoing.destroy()
    reject(error)
  }
  const onAbort = () => fail(new OutboundFailed("aborted", "the request was aborted"))
  const timer = setTimeout(
    () => fail(new OutboundFailed("timeout", `no answer within ${timeoutMs} ms`)),
    timeoutMs
  )
  if (signal?.aborted) onAbort()
  else signal?.addEventListener("abort", onAbort, { once: true })
  outgoing.on("error", (cause) => fail(cause instanceof OutboundRefused ? cause : connectionFailure(cause)))
  return { settled: () => done, settle, fail }
}

export type { PrivateNetworks } from "./addresses.ts"

export interface ResolvedAddress {
  readonly address: string
  readonly family: 4 | 6
}

/** A name's addresses (family 0: any). */
export type Resolve = (hostname: string, family: 0 | 4 | 6) => Promise<ReadonlyArray<ResolvedAddress>>

export interface OutboundOptions {
  /** OUTBOUND_PRIVATE_NETWORKS: may loopback and private addresses be reached? */
  readonly privateNetworks: PrivateNetworks
  /** How names are resolved; default the system resolver (dns.lookup). Tests inject their own. */
  readonly resolve?: Resolve | undefined
}

/** The URL (or the address its name resolves to) is not one we may reach; `message` names the rule. */
export class OutboundRefused extends Error {
  override readonly name = "OutboundRefused"
  readonly code = "EOUTBOUNDREFUSED"
}

export type OutboundFailure = "unreachable" | "timeout" | "too_large" | "aborted"

/** The exchange did not complete. The message is ours: never the foreign host's words or its address. */
export class OutboundFailed extends Error {
  override readonly name = "OutboundFailed"
  readonly reason: OutboundFailure
  constructor(reason: OutboundFailure, message: string, options?: { readonly cause?: unknown }) {
    super(message, options)
    this.reason = reason
  }
}

export interface GuardedRequest {
  readonly url: string | URL
  /** Default GET. */
  readonly method?: string | undefined
  readonly headers?: Readonly<Record<string, string>> | undefined
  readonly body?: string | Uint8Array | undefined
  /** The whole exchange, connect to last byte; default 10 seconds. */
  readonly timeoutMs?: number | undefined
  /** A longer body fails with `too_large`; default 1 MiB. */
  readonly maxBytes?: number | undefined
  readonly signal?: AbortSignal | undefined
}

export interface GuardedResponse {
  /** Any status, 3xx included: redirects are not followed. */
  readonly status: number
  readonly headers: http.IncomingHttpHeaders
  readonly body: Buffer
}

export interface OutboundClient {
  readonly privateNetworks: PrivateNetworks
  /** Parses the URL and checks its scheme and, when the host is an IP literal, its address. No DNS. */
  readonly parseUrl: (url: string | URL) => URL
  /**
   * `parseUrl`, then every address the name resolves to. A name that does not
   * resolve passes (nothing can be sent to it; connecting checks again).
   */
  readonly checkUrl: (url: string | URL) => Promise<URL>
  /** For node:http(s) agents and requests: resolves once, checks every address, connects to a checked one. */
  readonly lookup: LookupFunction
  /** A kept-alive agent of its own with `lookup`, for a client that keeps its sockets. */
  readonly agent: (protocol: string, options?: http.AgentOptions) => http.Agent
  /** One exchange: no redirects, bounded time and size. Rejects with OutboundRefused or OutboundFailed. */
  readonly request: (request: GuardedRequest) => Promise<GuardedResponse>
  /**
   * The same, resolved with the answer's head and its body still coming (a
   * server's event stream): `timeoutMs` bounds the wait for the head, then a
   * socket quiet for `idleMs` is destroyed. The caller reads or destroys it.
   */
  readonly open: (request: GuardedStreamRequest) => Promise<http.IncomingMessage>
}

export interface GuardedStreamRequest extends Omit<GuardedRequest, "maxBytes"> {
  readonly idleMs: number
}

const DEFAULT_TIMEOUT_MS = 10_000
const DEFAULT_MAX_BYTES = 1024 * 1024

const systemResolve: Resolve = async (hostname, family) => {
  const found = await dns.promises.lookup(hostname, { all: true, family })
  return found.map(({ address, family }) => ({ address, family: family === 6 ? 6 : 4 }))
}

const familyOf = (options: unknown): 0 | 4 | 6 => {
  const family = typeof options === "number" ? options : (options as { family?: unknown } | undefined)?.family
  return family === 4 || family === "IPv4" ? 4 : family === 6 || family === "IPv6" ? 6 : 0
}

/** Node's own words for a failed connection say where it went: only the kind is kept. */
const connectionFailure = (cause: unknown): OutboundFailed => {
  const code = (cause as { code?: unknown } | undefined)?.code
  const kind = typeof code === "string" && /^[A-Z_]{3,32}$/.test(code) ? ` (${code})` : ""
  return new OutboundFailed("unreachable", `the server could not be reached${kind}`, { cause })
}

export const make = (options: OutboundOptions): OutboundClient => {
  const { privateNetworks } = options
  const resolve = options.resolve ?? systemResolve

  const parseUrl = (input: string | URL): URL => {
    let url: URL
    try {
      url = typeof input === "string" ? new URL(input) : input
    } catch {
      throw new OutboundRefused("not a valid URL")
    }
    if (url.protocol !== "http:" && url.protocol !== "https:") {
      throw new OutboundRefused(
        `the scheme ${url.protocol.replace(/:$/, "")} is not allowed (http and https only)`
      )
    }
    const literal = classifyAddress(url.hostname)
    const refusal = literal === null ? undefined : refusalOf(literal, privateNetworks)
    if (refusal !== undefined) throw new OutboundRefused(`the URL's host is ${refusal}`)
    return url
  }

  /** The first refused address among them, as a sentence; undefined when all may be reached. */
  const refusalAmong = (addresses: ReadonlyArray<ResolvedAddress>): string | undefined => {
    for (const { address } of addresses) {
      const found = classifyAddress(address)
      const refusal = found === null ? "not an IP address" : refusalOf(found, privateNetworks)
      // The address itself is not named: what internal names resolve to is not the admin's business.
      if (refusal !== undefined) return `the URL's host resolves to ${refusal}`
    }
    return undefined
  }

  const lookup: LookupFunction = (hostname, lookupOptions, callback) => {
    resolve(hostname, familyOf(lookupOptions)).then(
      (addresses) => {
        if (addresses.length === 0) {
          return callback(Object.assign(new Error("the name did not resolve"), { code: "ENOTFOUND" }), "", 0)
        }
        const refusal = refusalAmong(addresses)
        if (refusal !== undefined) return callback(new OutboundRefused(refusal), "", 0)
        if (lookupOptions.all)
          return callback(
            null,
            addresses.map((found) => ({ ...found }))
          )
        callback(null, addresses[0]!.address, addresses[0]!.family)
      },
      (error: NodeJS.ErrnoException) => callback(error, "", 0)
    )
  }

  const checkUrl = async (input: string | URL): Promise<URL> => {
    const url = parseUrl(input)
    if (classifyAddress(url.hostname) !== null) return url
    const addresses = await resolve(url.hostname, 0).catch(() => [])
    const refusal = refusalAmong(addresses)
    if (refusal !== undefined) throw new OutboundRefused(refusal)
    return url
  }

  const agent = (protocol: string, agentOptions: http.AgentOptions = {}): http.Agent =>
    protocol === "https:"
      ? new https.Agent({ keepAlive: true, ...agentOptions, lookup })
      : new http.Agent({ keepAlive: true, ...agentOptions, lookup })

  const agents = { "http:": agent("http:"), "https:": agent("https:") }

  const request = (input: GuardedRequest): Promise<GuardedResponse> =>
    new Promise<GuardedResponse>((resolvePromise, reject) => {
      // A refusal thrown here rejects the promise, like every other failure.
      const url = parseUrl(input.url)
      const secure = url.protocol === "https:"
      const maxBytes = input.maxBytes ?? DEFAULT_MAX_BYTES
      const timeoutMs = input.timeoutMs ?? DEFAULT_TIMEOUT_MS
      const body = input.body === undefined ? undefined : Buffer.from(input.body)
      const outgoing = (secure ? https : http).request(url, {
        method: input.method ?? "GET",
        agent: secure ? agents["https:"] : agents["http:"],
        headers: {
          ...input.headers,
          ...(body === undefined ? {} : { "content-length": body.byteLength })
        }
      })
      const { settled, settle, fail } = watchOutgoing(outgoing, input.signal, timeoutMs, reject)
      outgoing.on("response", (response) => {
        const tooLarge = () =>
          fail(new OutboundFailed("too_large", `the answer is larger than ${maxBytes} bytes`))
        if (Number(response.headers["content-length"] ?? 0) > maxBytes) return tooLarge()
        const chunks: Array<Buffer> = []
        let size = 0
        response.on("data", (chunk: Buffer) => {
          size += chunk.byteLength
          if (size > maxBytes) return tooLarge()
          chunks.push(chunk)
        })
        response.on("end", () => {
          if (settled()) return
          settle()
          resolvePromise({
            status: response.statusCode ?? 0,
            headers: response.headers,
            body: Buffer.concat(chunks)
          })
        })
        response.on("error", (cause) => fail(connectionFailure(cause)))
        response.on("close", () => fail(new OutboundFailed("unreachable", "the answer was cut off")))
      })
      outgoing.end(body)
    })

  const open = (input: GuardedStreamRequest): Promise<http.IncomingMessage> =>
    new Promise<http.IncomingMessage>((resolvePromise, reject) => {
      const url = parseUrl(input.url)
      const secure = url.protocol === "https:"
      const timeoutMs = input.timeoutMs ?? DEFAULT_TIMEOUT_MS
      const body = input.body === undefined ? undefined : Buffer.from(input.body)
      // No kept-alive agent: a stream holds its socket for as long as it lasts.
      const outgoing = (secure ? https : http).request(url, {
        method: input.method ?? "GET",
        lookup,
        headers: {
          ...input.headers,
          ...(body === undefined ? {} : { "content-length": body.byteLength })
        }
      })
      const { settled, settle } = watchOutgoing(outgoing, input.signal, timeoutMs, reject)
      outgoing.on("response", (response) => {
        if (settled()) return response.destroy()
        settle()
        response.setTimeout(input.idleMs, () =>
          response.destroy(new OutboundFailed("timeout", `no data for ${input.idleMs} ms`))
        )
        resolvePromise(response)
      })
      outgoing.end(body)
    })

  return { privateNetworks, parseUrl, checkUrl, lookup, agent, request, open }
}
