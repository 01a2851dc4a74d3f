/**
 * Hearing an MCP server's tools change, against the real test server
 * (effect/ai McpServer over Streamable HTTP) through the guarded client: the
 * announcement on a call's own answer, and the `subscriptions/listen` stream
 * (listening, then one event per change, closed with its scope); a server
 * that cannot be listened to, and one that refuses the headers or may not be
 * reached at all.
 */
import { McpConnector, type McpToolsEvent } from "@botfleet/application"
import { FakeMcpServer } from "@botfleet/testing"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Fiber, Layer, Queue, Redacted, Stream } from "effect"
import { TestClock } from "effect/testing"
import * as McpConnectorHttp from "../../src/mcpServers/McpConnectorHttp.ts"
import * as OutboundClient from "../../src/outbound/OutboundClient.ts"
import * as OutboundHttpNode from "../../src/outbound/OutboundHttpNode.ts"

const connectorOn = (privateNetworks: "allow" | "deny") =>
  McpConnectorHttp.layer.pipe(Layer.provide(OutboundHttpNode.layer(OutboundClient.make({ privateNetworks }))))

const connection = (url: string, headers: Record<string, string> = {}) => ({
  url,
  headers: Redacted.make(headers),
  timeoutMs: 5000
})

/** Real time: the server and the sockets run outside the test clock. */
const waitFor = (check: Effect.Effect<boolean>) =>
  Effect.gen(function* () {
    for (let tries = 0; tries < 100; tries++) {
      if (yield* check) return
      yield* Effect.promise(() => new Promise((resolve) => setTimeout(resolve, 50)))
    }
    assert.fail("not reached in 5 s")
  })

describe("MCP tools changed", () => {
  it.effect("a call whose answer announces tools/list_changed says so; others do not", () =>
    Effect.gen(function* () {
      const server = yield* FakeMcpServer.make({ unlockTool: true })
      const connector = yield* McpConnector
      const tools = yield* connector.listTools(connection(server.url))
      assert.notInclude(
        tools.map((tool) => tool.name),
        "unlocked_tool"
      )
      const lookup = tools.find((tool) => tool.name === "lookup_order")!
      const plain = yield* connector.callTool(connection(server.url), lookup, { number: "7" })
      assert.isUndefined(plain.toolsChanged)
      const unlock = tools.find((tool) => tool.name === "unlock_tools")!
      const unlocked = yield* connector.callTool(connection(server.url), unlock, {})
      assert.deepStrictEqual(unlocked, {
        isError: false,
        text: "unlocked_tool is available",
        toolsChanged: true
      })
      assert.include(
        (yield* connector.listTools(connection(server.url))).map((tool) => tool.name),
        "unlocked_tool"
      )
    }).pipe(Effect.scoped, Effect.provide(connectorOn("allow")))
  )

  it.effect("the listening stream: listening, then one event per change; closed with its scope", () =>
    Effect.gen(function* () {
      const server = yield* FakeMcpServer.make()
      const connector = yield* McpConnector
      const events = yield* Queue.unbounded<McpToolsEvent>()
      const reader = yield* connector.watchTools(connection(server.url)).pipe(
        Stream.runForEach((event) => Queue.offer(events, event)),
        Effect.forkChild
      )
      assert.strictEqual(yield* Queue.take(events), "listening")
      assert.strictEqual(yield* server.openStreams, 1)
      yield* server.addTool("new_tool", "fresh")
      assert.strictEqual(yield* Queue.take(events), "changed")
      yield* server.setHidden(["slow_tool"])
      assert.strictEqual(yield* Queue.take(events), "changed")
      const names = (yield* connector.listTools(connection(server.url))).map((tool) => tool.name)
      assert.deepStrictEqual(names, ["lookup_order", "broken_tool", "new_tool"])

      yield* Fiber.interrupt(reader)
      yield* waitFor(Effect.map(server.openStreams, (open) => open === 0))
      // It asked with the protocol revision that has the stream, and said what it listens for.
      const posts = (yield* server.requests).filter((request) => request.method === "POST")
      assert.isTrue(posts.some((request) => request.headers["mcp-method"] === "subscriptions/listen"))
    }).pipe(Effect.scoped, Effect.provide(connectorOn("allow")), TestClock.withLive)
  )

  it.effect(
    "a server that speaks only 2025-11-25 cannot be listened to: unannounced, and the stream ends",
    () =>
      Effect.gen(function* () {
        const server = yield* FakeMcpServer.make({ legacyOnly: true })
        const connector = yield* McpConnector
        const events = yield* Stream.runCollect(connector.watchTools(connection(server.url)))
        assert.deepStrictEqual(events, ["unannounced"])
        assert.strictEqual(yield* server.openStreams, 0)
      }).pipe(Effect.scoped, Effect.provide(connectorOn("allow")))
  )

  it.effect("refused headers fail the stream before any listening", () =>
    Effect.gen(function* () {
      const server = yield* FakeMcpServer.make({ requiredHeaders: { authorization: "Bearer right" } })
      const refused = yield* Effect.flip(
        Stream.runCollect((yield* McpConnector).watchTools(connection(server.url, { authorization: "no" })))
      )
      assert.strictEqual(refused._tag, "McpHeadersRefused")
      assert.strictEqual(yield* server.openStreams, 0)
    }).pipe(Effect.scoped, Effect.provide(connectorOn("allow")))
  )

  it.effect("a refused address fails the stream with nothing sent", () =>
    Effect.gen(function* () {
      const server = yield* FakeMcpServer.make()
      const denied = yield* Effect.flip(
        Effect.gen(function* () {
          return yield* Stream.runCollect((yield* McpConnector).watchTools(connection(server.url)))
        }).pipe(Effect.provide(connectorOn("deny")))
      )
      assert.strictEqual(denied._tag, "UrlNotAllowed")
      assert.deepStrictEqual(yield* server.requests, [])
    }).pipe(Effect.scoped)
  )
})
