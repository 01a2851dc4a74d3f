/**
 * The guarded client against real sockets on 127.0.0.1, with names resolved
 * by an injected resolver (there is no outside DNS here): every spelling of
 * a metadata address refused, a name refused by what it resolves to at
 * connect time (so a rebinding name gets nothing), redirects returned and
 * not followed, size and time bounded, and `lookup` guarding a plain agent.
 */
import http from "node:http"
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import {
  make,
  OutboundFailed,
  OutboundRefused,
  type Resolve,
  type ResolvedAddress
} from "../../src/outbound/OutboundClient.ts"
import { localServer } from "./localServer.ts"

/** Names the tests use, and what they resolve to. */
const zone: Record<string, ReadonlyArray<ResolvedAddress>> = {
  "metadata.test": [{ address: "169.254.169.254", family: 4 }],
  "mapped.test": [{ address: "::ffff:a9fe:a9fe", family: 6 }],
  "mixed.test": [
    { address: "127.0.0.1", family: 4 },
    { address: "169.254.169.254", family: 4 }
  ],
  "local.test": [{ address: "127.0.0.1", family: 4 }]
}
const resolve: Resolve = async (hostname) => {
  const found = zone[hostname]
  if (found === undefined) throw Object.assign(new Error(`no ${hostname}`), { code: "ENOTFOUND" })
  return found
}

const refusal = (promise: Promise<unknown>) =>
  Effect.promise(() =>
    promise.then(
      () => undefined,
      (error: unknown) => error
    )
  )

describe("OutboundClient", () => {
  const allow = make({ privateNetworks: "allow", resolve })
  const deny = make({ privateNetworks: "deny", resolve })

  it.effect("every spelling of the metadata address, and schemes other than http(s), are refused", () =>
    Effect.gen(function* () {
      for (const url of [
        "http://169.254.169.254/latest/meta-data/",
        "http://2852039166/",
        "http://0xa9fea9fe/",
        "http://0251.0376.0251.0376/",
        "http://0xa9.0xfe.0xa9.0xfe/",
        "http://169.254.169.254./",
        "http://[::ffff:169.254.169.254]/",
        "http://[0:0:0:0:0:ffff:a9fe:a9fe]/",
        "http://[fd00:ec2::254]/",
        "http://[fe80::1]/",
        "http://0/",
        "http://[::]/",
        "http://224.0.0.1/",
        "http://255.255.255.255/",
        "file:///etc/passwd",
        "gopher://127.0.0.1:6379/_INFO",
        "not a url"
      ]) {
        const error = yield* refusal(allow.request({ url }))
        assert.instanceOf(error, OutboundRefused, url)
      }
      // The URL parser is what turns the odd spellings into the dotted address the rules read.
      assert.strictEqual(new URL("http://2852039166/").hostname, "169.254.169.254")
      assert.strictEqual(new URL("http://0xa9fea9fe/").hostname, "169.254.169.254")
      assert.strictEqual(new URL("http://[::ffff:169.254.169.254]/").hostname, "[::ffff:a9fe:a9fe]")
      assert.strictEqual(new URL("http://127.1/").hostname, "127.0.0.1")
    })
  )

  it.effect("a name is refused by what it resolves to: one refused address refuses the name", () =>
    Effect.scoped(
      Effect.gen(function* () {
        const server = yield* localServer((_, response) => response.end("ok"))
        for (const name of ["metadata.test", "mapped.test", "mixed.test"]) {
          const error = yield* refusal(allow.request({ url: `http://${name}:${server.port}/` }))
          assert.instanceOf(error, OutboundRefused, name)
          assert.include((error as Error).message, "resolves to")
          assert.notInclude((error as Error).message, "169.254.169.254", "the resolved address is not named")
          const checked = yield* refusal(allow.checkUrl(`http://${name}/`))
          assert.instanceOf(checked, OutboundRefused, name)
        }
        assert.deepStrictEqual(server.received, [])
        // An allowed name reaches the address it was checked at.
        const answer = yield* Effect.promise(() =>
          allow.request({ url: `http://local.test:${server.port}/hi` })
        )
        assert.strictEqual(answer.status, 200)
        assert.strictEqual(answer.body.toString(), "ok")
        assert.deepStrictEqual(server.received, ["GET /hi"])
      })
    )
  )

  it.effect(
    "a name that passes a check and then resolves elsewhere gets nothing: connecting checks again",
    () =>
      Effect.scoped(
        Effect.gen(function* () {
          const server = yield* localServer((_, response) => response.end("ok"))
          let answers = 0
          const rebinding = make({
            privateNetworks: "allow",
            resolve: async () => [{ address: answers++ === 0 ? "127.0.0.1" : "169.254.169.254", family: 4 }]
          })
          const url = `http://rebind.test:${server.port}/`
          yield* Effect.promise(() => rebinding.checkUrl(url))
          const error = yield* refusal(rebinding.request({ url }))
          assert.instanceOf(error, OutboundRefused)
          assert.deepStrictEqual(server.received, [])
        })
      )
  )

  it.effect("under deny, loopback by address or by name is refused; allow reaches it", () =>
    Effect.scoped(
      Effect.gen(function* () {
        const server = yield* localServer((_, response) => response.end("ok"))
        for (const url of [
          `${server.origin}/`,
          `http://local.test:${server.port}/`,
          "http://[::1]/",
          "http://10.0.0.1/"
        ]) {
          const error = yield* refusal(deny.request({ url }))
          assert.instanceOf(error, OutboundRefused, url)
          assert.include((error as Error).message, "OUTBOUND_PRIVATE_NETWORKS=deny")
        }
        assert.deepStrictEqual(server.received, [])
        assert.strictEqual(
          (yield* Effect.promise(() => allow.request({ url: `${server.origin}/` }))).status,
          200
        )
      })
    )
  )

  it.effect("a redirect is returned as it is, never followed", () =>
    Effect.scoped(
      Effect.gen(function* () {
        const target = yield* localServer((_, response) => response.end("followed"))
        const redirecting = yield* localServer((_, response) => {
          response.writeHead(302, { location: `${target.origin}/secret` }).end()
        })
        const toMetadata = yield* localServer((_, response) => {
          response.writeHead(307, { location: "http://169.254.169.254/latest/meta-data/" }).end()
        })
        const answer = yield* Effect.promise(() => allow.request({ url: `${redirecting.origin}/` }))
        assert.strictEqual(answer.status, 302)
        assert.strictEqual(answer.headers.location, `${target.origin}/secret`)
        assert.strictEqual(
          (yield* Effect.promise(() => allow.request({ url: `${toMetadata.origin}/` }))).status,
          307
        )
        assert.deepStrictEqual(target.received, [])
      })
    )
  )

  it.effect("size and time are bounded, and failures name no address", () =>
    Effect.scoped(
      Effect.gen(function* () {
        const big = yield* localServer((_, response) => {
          response.writeHead(200)
          response.end(Buffer.alloc(200_000, 120))
        })
        const hanging = yield* localServer(() => undefined)
        const tooLarge = yield* refusal(allow.request({ url: `${big.origin}/`, maxBytes: 100_000 }))
        assert.instanceOf(tooLarge, OutboundFailed)
        assert.strictEqual((tooLarge as OutboundFailed).reason, "too_large")
        const slow = yield* refusal(allow.request({ url: `${hanging.origin}/`, timeoutMs: 200 }))
        assert.instanceOf(slow, OutboundFailed)
        assert.strictEqual((slow as OutboundFailed).reason, "timeout")
        const nobody = yield* refusal(allow.request({ url: "http://127.0.0.1:9/" }))
        assert.strictEqual((nobody as OutboundFailed).reason, "unreachable")
        assert.notInclude((nobody as Error).message, "127.0.0.1")
      })
    )
  )

  it.effect("`lookup` on a plain node:http agent refuses a name that resolves to the metadata address", () =>
    Effect.gen(function* () {
      const agent = allow.agent("http:")
      const error = yield* Effect.promise(
        () =>
          new Promise<unknown>((resolvePromise) => {
            const request = http.get("http://metadata.test/latest/", { agent }, () =>
              resolvePromise(undefined)
            )
            request.on("error", resolvePromise)
          })
      )
      agent.destroy()
      assert.instanceOf(error, OutboundRefused)
    })
  )
})
