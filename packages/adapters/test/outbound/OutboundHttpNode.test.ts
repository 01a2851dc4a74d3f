/** The OutboundHttp port on the guarded client: the port's errors, headers joined, no redirect followed. */
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import * as Outbound from "../../src/outbound/OutboundClient.ts"
import * as OutboundHttpNode from "../../src/outbound/OutboundHttpNode.ts"
import { closedPort, localServer } from "./localServer.ts"

describe("OutboundHttpNode", () => {
  const http = OutboundHttpNode.make(Outbound.make({ privateNetworks: "allow" }))
  const strict = OutboundHttpNode.make(Outbound.make({ privateNetworks: "deny" }))

  it.effect("a request gets the status, lower-case headers and body; a redirect comes back as it is", () =>
    Effect.scoped(
      Effect.gen(function* () {
        const target = yield* localServer((_, response) => response.end("followed"))
        const server = yield* localServer((request, response) => {
          if (request.url === "/moved") {
            response.writeHead(301, { location: `${target.origin}/` }).end()
            return
          }
          response.writeHead(201, { "X-Answer": "yes" }).end("made")
        })
        const answer = yield* http.request({ url: `${server.origin}/make`, method: "POST", body: "{}" })
        assert.strictEqual(answer.status, 201)
        assert.strictEqual(answer.headers["x-answer"], "yes")
        assert.strictEqual(Buffer.from(answer.body).toString(), "made")
        const moved = yield* http.request({ url: `${server.origin}/moved` })
        assert.strictEqual(moved.status, 301)
        assert.deepStrictEqual(target.received, [])
      })
    )
  )

  it.effect(
    "refusals are UrlNotAllowed naming the rule; failures are OutboundRequestFailed with a reason",
    () =>
      Effect.gen(function* () {
        const metadata = yield* Effect.flip(http.request({ url: "http://169.254.169.254/latest/meta-data/" }))
        assert.strictEqual(metadata._tag, "UrlNotAllowed")
        assert.include(metadata.message, "169.254.0.0/16")
        const checked = yield* Effect.flip(http.checkUrl("http://0xa9fea9fe/"))
        assert.strictEqual(checked._tag, "UrlNotAllowed")
        const loopback = yield* Effect.flip(strict.checkUrl("http://localhost:8080/"))
        assert.include(loopback.message, "OUTBOUND_PRIVATE_NETWORKS=deny")
        yield* http.checkUrl("http://127.0.0.1:8080/")
        const closed = yield* Effect.flip(http.request({ url: `http://127.0.0.1:${yield* closedPort}/` }))
        assert.strictEqual(closed._tag, "OutboundRequestFailed")
        assert.strictEqual(closed._tag === "OutboundRequestFailed" ? closed.reason : "", "unreachable")
      })
  )
})
