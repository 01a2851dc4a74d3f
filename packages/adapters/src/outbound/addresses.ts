/**
 * Which IP addresses a URL that an admin (or a model) supplied may reach.
 * Three answers: public (always), private (loopback and private ranges: a
 * local model on 127.0.0.1 is a headline use, so allowed unless
 * OUTBOUND_PRIVATE_NETWORKS=deny) and forbidden (link-local and cloud
 * metadata, unspecified, multicast, broadcast, reserved: never a server an
 * admin means). IPv6 forms that carry an IPv4 address (mapped, compatible,
 * NAT64, 6to4) are judged by that address. Pure: no DNS, no sockets.
 */

export type PrivateNetworks = "allow" | "deny"

export type AddressClass =
  | { readonly kind: "public" }
  | { readonly kind: "private"; readonly rule: string }
  | { readonly kind: "forbidden"; readonly rule: string }

/** "a.b.c.d" with four decimal parts 0-255, as URL and DNS give them; anything else null. */
export const ipv4ToNumber = (text: string): number | null => {
  const parts = text.split(".")
  if (parts.length !== 4) return null
  let value = 0
  for (const part of parts) {
    if (!/^\d{1,3}$/.test(part)) return null
    const byte = Number(part)
    if (byte > 255) return null
    value = value * 256 + byte
  }
  return value
}

interface Range {
  readonly first: number
  readonly bits: number
  readonly kind: "private" | "forbidden"
  readonly rule: string
}

const v4 = (dotted: string, bits: number, kind: Range["kind"], rule: string): Range => ({
  first: ipv4ToNumber(dotted)!,
  bits,
  kind,
  rule
})

/** Most specific first: the first match wins. */
const IPV4_RANGES: ReadonlyArray<Range> = [
  // Alibaba Cloud's metadata service sits inside the CGNAT range.
  v4("100.100.100.200", 32, "forbidden", "a cloud metadata address"),
  // Azure's platform endpoint (WireServer): public-looking, reachable only from inside a VM.
  v4("168.63.129.16", 32, "forbidden", "a cloud platform address"),
  v4("0.0.0.0", 8, "forbidden", "an unspecified address (0.0.0.0/8)"),
  v4("169.254.0.0", 16, "forbidden", "a link-local or cloud metadata address (169.254.0.0/16)"),
  // IETF protocol assignments; 192.0.0.192 is Oracle Cloud's metadata service.
  v4("192.0.0.0", 24, "forbidden", "a reserved address (192.0.0.0/24)"),
  v4("224.0.0.0", 4, "forbidden", "a multicast address (224.0.0.0/4)"),
  // Reserved, and 255.255.255.255 (broadcast) with them.
  v4("240.0.0.0", 4, "forbidden", "a reserved or broadcast address (240.0.0.0/4)"),
  v4("127.0.0.0", 8, "private", "a loopback address (127.0.0.0/8)"),
  v4("10.0.0.0", 8, "private", "a private address (10.0.0.0/8)"),
  v4("172.16.0.0", 12, "private", "a private address (172.16.0.0/12)"),
  v4("192.168.0.0", 16, "private", "a private address (192.168.0.0/16)"),
  v4("100.64.0.0", 10, "private", "a shared (CGNAT) address (100.64.0.0/10)"),
  v4("198.18.0.0", 15, "private", "a benchmarking address (198.18.0.0/15)")
]

/** 16 bytes, or null when not an IPv6 address. Brackets and a zone (`%eth0`) are allowed. */
export const ipv6ToBytes = (input: string): Uint8Array | null => {
  let text = input.startsWith("[") && input.endsWith("]") ? input.slice(1, -1) : input
  const zone = text.indexOf("%")
  if (zone !== -1) text = text.slice(0, zone)
  if (!text.includes(":")) return null
  const words: Array<number> = []
  const halves = text.split("::")
  if (halves.length > 2) return null
  const parseHalf = (half: string): Array<number> | null => {
    if (half === "") return []
    const out: Array<number> = []
    const groups = half.split(":")
    for (let index = 0; index < groups.length; index++) {
      const group = groups[index]!
      if (index === groups.length - 1 && group.includes(".")) {
        const embedded = ipv4ToNumber(group)
        if (embedded === null) return null
        out.push(Math.floor(embedded / 65536), embedded % 65536)
      } else if (/^[0-9a-fA-F]{1,4}$/.test(group)) {
        out.push(Number.parseInt(group, 16))
      } else {
        return null
      }
    }
    return out
  }
  const head = parseHalf(halves[0]!)
  const tail = halves.length === 2 ? parseHalf(halves[1]!) : []
  if (head === null || tail === null) return null
  if (halves.length === 1) {
    if (head.length !== 8) return null
    words.push(...head)
  } else {
    if (head.length + tail.length > 7) return null
    words.push(...head, ...new Array<number>(8 - head.length - tail.length).fill(0), ...tail)
  }
  const bytes = new Uint8Array(16)
  words.forEach((word, index) => {
    bytes[index * 2] = word >> 8
    bytes[index * 2 + 1] = word & 0xff
  })
  return bytes
}

const classifyIpv4 = (value: number): AddressClass => {
  for (const range of IPV4_RANGES) {
    const size = 2 ** (32 - range.bits)
    if (Math.floor(value / size) === Math.floor(range.first / size)) {
      return { kind: range.kind, rule: range.rule }
    }
  }
  return { kind: "public" }
}

const startsWith = (bytes: Uint8Array, prefix: ReadonlyArray<number>) =>
  prefix.every((byte, index) => bytes[index] === byte)

const allZero = (bytes: Uint8Array, from: number, to: number) => {
  for (let index = from; index < to; index++) if (bytes[index] !== 0) return false
  return true
}

const embeddedIpv4 = (bytes: Uint8Array, at: number) =>
  ((bytes[at]! * 256 + bytes[at + 1]!) * 256 + bytes[at + 2]!) * 256 + bytes[at + 3]!

/** fd00:ec2::254, AWS's metadata service over IPv6. */
const AWS_METADATA_V6 = ipv6ToBytes("fd00:ec2::254")!

const classifyIpv6 = (bytes: Uint8Array): AddressClass => {
  if (allZero(bytes, 0, 16)) return { kind: "forbidden", rule: "an unspecified address (::)" }
  if (allZero(bytes, 0, 15) && bytes[15] === 1) return { kind: "private", rule: "a loopback address (::1)" }
  // ::ffff:a.b.c.d (mapped), ::a.b.c.d (compatible), 64:ff9b::a.b.c.d (NAT64): the IPv4 address decides.
  const mapped = allZero(bytes, 0, 10) && bytes[10] === 0xff && bytes[11] === 0xff
  const compatible = allZero(bytes, 0, 12)
  const nat64 = startsWith(bytes, [0x00, 0x64, 0xff, 0x9b]) && allZero(bytes, 4, 12)
  if (mapped || compatible || nat64) return classifyIpv4(embeddedIpv4(bytes, 12))
  // 6to4 (2002:a.b.c.d::/48) reaches the IPv4 address it carries.
  if (bytes[0] === 0x20 && bytes[1] === 0x02) {
    const inner = classifyIpv4(embeddedIpv4(bytes, 2))
    if (inner.kind !== "public") return inner
  }
  if (bytes.every((byte, index) => byte === AWS_METADATA_V6[index])) {
    return { kind: "forbidden", rule: "a cloud metadata address (fd00:ec2::254)" }
  }
  if (bytes[0] === 0xfe && (bytes[1]! & 0xc0) === 0x80) {
    return { kind: "forbidden", rule: "a link-local address (fe80::/10)" }
  }
  if (bytes[0] === 0xff) return { kind: "forbidden", rule: "a multicast address (ff00::/8)" }
  if ((bytes[0]! & 0xfe) === 0xfc) return { kind: "private", rule: "a private address (fc00::/7)" }
  // Deprecated site-local: private wherever it is still used.
  if (bytes[0] === 0xfe && (bytes[1]! & 0xc0) === 0xc0) {
    return { kind: "private", rule: "a site-local address (fec0::/10)" }
  }
  return { kind: "public" }
}

/** An IP address (v4 dotted, or v6 with or without brackets); null when `text` is not one (a name). */
export const classifyAddress = (text: string): AddressClass | null => {
  const asV4 = ipv4ToNumber(text)
  if (asV4 !== null) return classifyIpv4(asV4)
  const asV6 = ipv6ToBytes(text)
  return asV6 === null ? null : classifyIpv6(asV6)
}

/**
 * Why the address may not be reached under this setting ("a loopback address
 * (127.0.0.0/8), which OUTBOUND_PRIVATE_NETWORKS=deny refuses"); undefined when it may.
 */
export const refusalOf = (address: AddressClass, privateNetworks: PrivateNetworks): string | undefined => {
  if (address.kind === "forbidden") return `${address.rule}, which is never allowed`
  if (address.kind === "private" && privateNetworks === "deny") {
    return `${address.rule}, which OUTBOUND_PRIVATE_NETWORKS=deny refuses`
  }
  return undefined
}
