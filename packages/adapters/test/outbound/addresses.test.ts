/** The address rules on their own: every range, the IPv6 forms that carry IPv4, and what is not an address. */
import { assert, describe, it } from "@effect/vitest"
import { classifyAddress, refusalOf } from "../../src/outbound/addresses.ts"

const kindOf = (address: string) => classifyAddress(address)?.kind ?? "not an address"

describe("outbound address rules", () => {
  it("metadata, link-local, unspecified, multicast, broadcast and reserved are forbidden", () => {
    for (const address of [
      "169.254.169.254",
      "169.254.0.1",
      "100.100.100.200",
      "168.63.129.16",
      "192.0.0.192",
      "0.0.0.0",
      "0.1.2.3",
      "224.0.0.1",
      "239.255.255.250",
      "255.255.255.255",
      "240.0.0.1",
      "::",
      "[::]",
      "fe80::1",
      "fe80::1%eth0",
      "febf::1",
      "ff02::1",
      "fd00:ec2::254",
      // IPv4 inside IPv6: mapped (both spellings), compatible, NAT64 and 6to4.
      "::ffff:169.254.169.254",
      "::ffff:a9fe:a9fe",
      "0:0:0:0:0:ffff:a9fe:a9fe",
      "::169.254.169.254",
      "64:ff9b::a9fe:a9fe",
      "2002:a9fe:a9fe::1",
      "::ffff:0.0.0.0",
      "::ffff:224.0.0.1"
    ]) {
      assert.strictEqual(kindOf(address), "forbidden", address)
    }
  })

  it("loopback and private ranges are private; their IPv4-mapped forms too", () => {
    for (const address of [
      "127.0.0.1",
      "127.255.0.9",
      "10.1.2.3",
      "172.16.0.1",
      "172.31.255.255",
      "192.168.1.1",
      "100.64.0.1",
      "100.127.255.254",
      "::1",
      "[::1]",
      "fc00::1",
      "fd12:3456::1",
      "::ffff:127.0.0.1",
      "::ffff:7f00:1",
      "::ffff:10.0.0.1",
      "2002:0a00:0001::1"
    ]) {
      assert.strictEqual(kindOf(address), "private", address)
    }
  })

  it("the rest is public, including the neighbours of each range", () => {
    for (const address of [
      "8.8.8.8",
      "1.1.1.1",
      "172.15.255.255",
      "172.32.0.0",
      "100.63.255.255",
      "100.128.0.0",
      "169.253.255.255",
      "169.255.0.0",
      "223.255.255.255",
      "2001:4860:4860::8888",
      "::ffff:8.8.8.8",
      "fe00::1"
    ]) {
      assert.strictEqual(kindOf(address), "public", address)
    }
  })

  it("names and malformed text are not addresses", () => {
    for (const text of [
      "localhost",
      "example.com",
      "1.2.3",
      "1.2.3.256",
      "01.2.3.4x",
      "1::2::3",
      "12345::",
      ":::"
    ]) {
      assert.strictEqual(kindOf(text), "not an address", text)
    }
  })

  it("private is refused only under deny; forbidden always", () => {
    const loopback = classifyAddress("127.0.0.1")!
    const metadata = classifyAddress("169.254.169.254")!
    assert.isUndefined(refusalOf(loopback, "allow"))
    assert.include(refusalOf(loopback, "deny"), "OUTBOUND_PRIVATE_NETWORKS=deny")
    assert.include(refusalOf(metadata, "allow"), "never allowed")
    assert.isUndefined(refusalOf(classifyAddress("8.8.8.8")!, "deny"))
  })
})
