/**
 * Who is asking: the socket's address, or, when the socket is a proxy listed
 * in TRUST_PROXY, the address that proxy put in `X-Forwarded-For` (the right-
 * most entry that is not itself a trusted proxy, so a client cannot choose its
 * own address by sending the header). Rate limits, login lockout and the audit
 * log all count by this one answer.
 */
import { BlockList, isIP } from "node:net"
import { Context, Layer, Option } from "effect"
import type { HttpServerRequest } from "effect/http"

export interface TrustedProxies {
  /** Whether `address` is one of the configured proxies. */
  readonly contains: (address: string) => boolean
  /** Whether any proxy is configured. */
  readonly any: boolean
}

/** IPv4 clients on a dual-stack socket show up as `::ffff:1.2.3.4`. */
const plain = (address: string) =>
  address.startsWith("::ffff:") && isIP(address.slice(7)) === 4 ? address.slice(7) : address

export const trustedProxies = (entries: ReadonlyArray<string>): TrustedProxies => {
  const list = new BlockList()
  for (const entry of entries) {
    const [address = "", bits] = entry.split("/")
    const type = isIP(address) === 6 ? "ipv6" : "ipv4"
    if (bits === undefined) list.addAddress(address, type)
    else list.addSubnet(address, Number(bits), type)
  }
  return {
    any: entries.length > 0,
    contains: (address) => {
      const value = plain(address)
      const family = isIP(value)
      return family !== 0 && list.check(value, family === 6 ? "ipv6" : "ipv4")
    }
  }
}

export class TrustProxy extends Context.Service<TrustProxy, TrustedProxies>()("@botfleet/server/TrustProxy") {
  static readonly layer = (entries: ReadonlyArray<string>) =>
    Layer.succeed(TrustProxy, trustedProxies(entries))
}

/** The client's address as far as it can be believed; "unknown" only without a socket address. */
export const clientAddressOf = (
  request: HttpServerRequest.HttpServerRequest,
  proxies: TrustedProxies
): string => {
  const socket = Option.map(request.remoteAddress, plain)
  if (Option.isNone(socket)) return "unknown"
  if (!proxies.any || !proxies.contains(socket.value)) return socket.value
  const forwarded = (request.headers["x-forwarded-for"] ?? "")
    .split(",")
    .map((hop) => plain(hop.trim()))
    .filter((hop) => isIP(hop) !== 0)
  for (let i = forwarded.length - 1; i >= 0; i--) {
    const hop = forwarded[i] as string
    if (!proxies.contains(hop)) return hop
  }
  return forwarded[0] ?? socket.value
}

/** Whether the request reached the first trusted proxy over https (X-Forwarded-Proto), or came over TLS itself. */
export const cameOverHttps = (
  request: HttpServerRequest.HttpServerRequest,
  proxies: TrustedProxies
): boolean => {
  const socket = Option.map(request.remoteAddress, plain)
  if (Option.isSome(socket) && proxies.contains(socket.value)) {
    const proto = (request.headers["x-forwarded-proto"] ?? "").split(",")[0]?.trim().toLowerCase()
    return proto === "https"
  }
  return false
}
