/**
 * An MCP server's tools changing, end to end on the real server and
 * PostgreSQL with a real MCP server (FakeMcpServer, effect/ai McpServer over
 * Streamable HTTP): the server hides a tool and shows it again, and the next
 * question's model request (the fake OpenAI records it) offers the new list,
 * with no admin pressing refresh; a tool it adds is listed (offered once an
 * admin allows it). A server that can announce nothing still answers as before.
 */
import { FakeMcpServer, type FakeOpenAI } from "@botfleet/testing"
import { assert, layer } from "@effect/vitest"
import { Effect } from "effect"
import { McpServerView } from "../../src/api/mcpServerSchemas.ts"
import { BotView } from "../../src/api/schemas.ts"
import { expectBody, loggedIn, withAdmin } from "../support/apiClient.ts"
import {
  eventually,
  eventuallyEffect,
  postUpdate,
  layer as serverLayer,
  settled,
  TestServer,
  textUpdate
} from "../support/inProcessServer.ts"

const questionOf = (request: FakeOpenAI.ReplyRequest) =>
  request.messages.findLast((message) => message.role === "user")?.content ?? ""

layer(serverLayer(withAdmin(), { recordLlmRequests: true }), { timeout: 120_000, excludeTestServices: true })(
  "MCP tools changed",
  (it) => {
    /** A bot with the server's lookup_order and slow_tool allowed. */
    const mcpBot = (name: string, mcpUrl: string) =>
      Effect.gen(function* () {
        const server = yield* TestServer
        const api = yield* loggedIn(server.baseUrl)
        const mcp = expectBody(
          yield* api.post("/api/mcp-servers", {
            name: `${name} tools`,
            url: mcpUrl,
            allowedTools: ["lookup_order", "slow_tool"]
          }),
          201,
          McpServerView
        )
        const { bot } = yield* server.addBot(name)
        expectBody(yield* api.patch(`/api/bots/${bot.id}`, { mcpServerIds: [mcp.id] }), 200, BotView)
        return { bot, api, mcpId: mcp.id }
      })

    /** Asks `question`; the tools its first model request offered. */
    const offered = (bot: { readonly id: string }, chatId: number, question: string) =>
      Effect.gen(function* () {
        const server = yield* TestServer
        const before = server.telegram.sentTo(chatId).length
        assert.strictEqual(
          (yield* postUpdate(server.baseUrl, bot as never, textUpdate(chatId, question))).status,
          200
        )
        yield* eventually(() => server.telegram.sentTo(chatId).length > before)
        yield* settled(server, bot.id)
        const request = (yield* server.openai.requests).find((request) => questionOf(request) === question)
        assert.isDefined(request)
        return request!.tools ?? []
      })

    it.effect("hidden, shown again, added: the next question offers the server's new list, no refresh", () =>
      Effect.scoped(
        Effect.gen(function* () {
          const server = yield* TestServer
          const mcp = yield* FakeMcpServer.make()
          const { bot, api, mcpId } = yield* mcpBot("Changing tools", mcp.url)
          const listed = Effect.map(api.get(`/api/mcp-servers/${mcpId}`), (response) =>
            expectBody(response, 200, McpServerView).tools.map((tool) => tool.name)
          )
          yield* server.openai.setReply((request) => `reply to: ${questionOf(request)}`)

          assert.deepStrictEqual(yield* offered(bot, 98_001, "first question"), ["lookup_order", "slow_tool"])
          // The process listens to the server its bot uses.
          yield* eventuallyEffect(Effect.map(mcp.openStreams, (open) => open >= 1))

          yield* mcp.setHidden(["slow_tool"])
          yield* eventuallyEffect(Effect.map(listed, (names) => !names.includes("slow_tool")))
          assert.deepStrictEqual(yield* offered(bot, 98_001, "second question"), ["lookup_order"])

          yield* mcp.setHidden([])
          yield* eventuallyEffect(Effect.map(listed, (names) => names.includes("slow_tool")))
          assert.deepStrictEqual(yield* offered(bot, 98_001, "third question"), ["lookup_order", "slow_tool"])

          // A new tool is listed at once, and offered only once an admin allows it.
          yield* mcp.addTool("track_parcel", "in the van")
          yield* eventuallyEffect(Effect.map(listed, (names) => names.includes("track_parcel")))
          assert.deepStrictEqual(yield* offered(bot, 98_001, "fourth question"), [
            "lookup_order",
            "slow_tool"
          ])
          expectBody(
            yield* api.patch(`/api/mcp-servers/${mcpId}`, {
              allowedTools: ["lookup_order", "slow_tool", "track_parcel"]
            }),
            200,
            McpServerView
          )
          assert.deepStrictEqual(yield* offered(bot, 98_001, "fifth question"), [
            "lookup_order",
            "slow_tool",
            "track_parcel"
          ])
        })
      )
    )

    it.effect("a server that cannot announce changes (2025-11-25 only) answers as before", () =>
      Effect.scoped(
        Effect.gen(function* () {
          const server = yield* TestServer
          const mcp = yield* FakeMcpServer.make({ legacyOnly: true })
          const { bot } = yield* mcpBot("Quiet tools", mcp.url)
          const question = "where is order 9?"
          yield* server.openai.setReply((request) => {
            if (questionOf(request) !== question) return `reply to: ${questionOf(request)}`
            const results = request.messages.filter((message) => message.role === "tool")
            return results.length === 0
              ? { content: null, toolCalls: [{ name: "lookup_order", arguments: { number: "9" } }] }
              : `Found: ${results[0]!.content}`
          })
          assert.deepStrictEqual(yield* offered(bot, 98_002, question), ["lookup_order", "slow_tool"])
          assert.strictEqual(
            server.telegram.sentTo(98_002).at(-1)?.text,
            "Found: Order 9 has shipped and arrives on Friday."
          )
          assert.strictEqual(yield* mcp.openStreams, 0)
        })
      )
    )
  }
)
