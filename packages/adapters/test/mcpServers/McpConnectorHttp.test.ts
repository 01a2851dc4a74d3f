/**
 * The MCP connector against a real MCP server (effect/ai McpServer over
 * Streamable HTTP, FakeMcpServer) through the guarded outbound client:
 * tools listed, a tool called with its arguments and headers, a tool's own
 * error, a timeout, a refused header, and refused addresses never contacted.
 */
import { McpConnector } from "@botfleet/application"
import { FakeMcpServer } from "@botfleet/testing"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Layer, Redacted } from "effect"
import * as McpConnectorHttp from "../../src/mcpServers/McpConnectorHttp.ts"
import * as OutboundClient from "../../src/outbound/OutboundClient.ts"
import * as OutboundHttpNode from "../../src/outbound/OutboundHttpNode.ts"

const connectorOn = (privateNetworks: "allow" | "deny") =>
  McpConnectorHttp.layer.pipe(Layer.provide(OutboundHttpNode.layer(OutboundClient.make({ privateNetworks }))))

const connection = (url: string, headers: Record<string, string> = {}, timeoutMs = 5000) => ({
  url,
  headers: Redacted.make(headers),
  timeoutMs
})

describe("McpConnectorHttp", () => {
  it.effect("lists the server's tools with their JSON Schemas, sending the stored headers", () =>
    Effect.gen(function* () {
      const server = yield* FakeMcpServer.make({
        requiredHeaders: { authorization: "Bearer mcp-secret-1234" }
      })
      const connector = yield* McpConnector
      const tools = yield* connector.listTools(
        connection(server.url, { authorization: "Bearer mcp-secret-1234" })
      )
      assert.deepStrictEqual(
        tools.map((tool) => tool.name),
        [...FakeMcpServer.TOOL_NAMES]
      )
      const lookup = tools.find((tool) => tool.name === "lookup_order")!
      assert.strictEqual(lookup.description, "Finds an order by its number and says where it is")
      assert.deepStrictEqual((lookup.inputSchema as { required?: unknown }).required, ["number"])
      const posts = (yield* server.requests).filter((request) => request.method === "POST")
      assert.isAtLeast(posts.length, 2)
      for (const request of posts) assert.strictEqual(request.headers.authorization, "Bearer mcp-secret-1234")
    }).pipe(Effect.scoped, Effect.provide(connectorOn("allow")))
  )

  it.effect("calls a tool with its arguments and returns its text", () =>
    Effect.gen(function* () {
      const server = yield* FakeMcpServer.make()
      const connector = yield* McpConnector
      const tools = yield* connector.listTools(connection(server.url))
      const lookup = tools.find((tool) => tool.name === "lookup_order")!
      const result = yield* connector.callTool(connection(server.url), lookup, { number: "A-17" })
      assert.deepStrictEqual(result, {
        isError: false,
        text: "Order A-17 has shipped and arrives on Friday."
      })
      assert.deepStrictEqual(yield* server.toolCalls, [
        { name: "lookup_order", arguments: { number: "A-17" } }
      ])
    }).pipe(Effect.scoped, Effect.provide(connectorOn("allow")))
  )

  it.effect("a tool's own failure is a result marked as an error, not a broken connection", () =>
    Effect.gen(function* () {
      const server = yield* FakeMcpServer.make()
      const connector = yield* McpConnector
      const tools = yield* connector.listTools(connection(server.url))
      const broken = tools.find((tool) => tool.name === "broken_tool")!
      const result = yield* connector.callTool(connection(server.url), broken, {})
      assert.isTrue(result.isError)
    }).pipe(Effect.scoped, Effect.provide(connectorOn("allow")))
  )

  it.effect("a tool that does not answer in time fails as unreachable", () =>
    Effect.gen(function* () {
      const server = yield* FakeMcpServer.make({ slowMillis: 10_000 })
      const connector = yield* McpConnector
      const tools = yield* connector.listTools(connection(server.url))
      const slow = tools.find((tool) => tool.name === "slow_tool")!
      const started = Date.now()
      const error = yield* Effect.flip(connector.callTool(connection(server.url, {}, 500), slow, {}))
      assert.strictEqual(error._tag, "McpServerUnreachable")
      assert.isBelow(Date.now() - started, 5000)
    }).pipe(Effect.scoped, Effect.provide(connectorOn("allow")))
  )

  it.effect("a server that refuses the headers is reported as such", () =>
    Effect.gen(function* () {
      const server = yield* FakeMcpServer.make({ requiredHeaders: { authorization: "Bearer right" } })
      const connector = yield* McpConnector
      const error = yield* Effect.flip(
        connector.listTools(connection(server.url, { authorization: "Bearer wrong" }))
      )
      assert.strictEqual(error._tag, "McpHeadersRefused")
      assert.include(error.message, "401")
    }).pipe(Effect.scoped, Effect.provide(connectorOn("allow")))
  )

  it.effect("metadata and (when denied) private addresses are refused before anything is sent", () =>
    Effect.gen(function* () {
      const server = yield* FakeMcpServer.make()
      const denied = yield* Effect.flip(
        Effect.gen(function* () {
          return yield* (yield* McpConnector).listTools(connection(server.url))
        }).pipe(Effect.provide(connectorOn("deny")))
      )
      assert.strictEqual(denied._tag, "UrlNotAllowed")
      assert.deepStrictEqual(yield* server.requests, [])
      const metadata = yield* Effect.flip(
        Effect.gen(function* () {
          return yield* (yield* McpConnector).listTools(connection("http://169.254.169.254/mcp"))
        }).pipe(Effect.provide(connectorOn("allow")))
      )
      assert.strictEqual(metadata._tag, "UrlNotAllowed")
    }).pipe(Effect.scoped)
  )
})
