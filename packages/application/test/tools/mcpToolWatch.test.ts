/**
 * The MCP tool watch on the memory twins: one stream per server an active
 * bot uses, opened when the bot is attached and closed when no bot uses the
 * server; a change heard on it lists the tools again, so the stored list (and
 * the next reply) follows the server with no refresh.
 */
import { McpConnectorMemory } from "@botfleet/adapters"
import { BotService, McpServerService, watchMcpTools } from "@botfleet/application"
import type { McpTool } from "@botfleet/domain"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Redacted } from "effect"
import { TestClock } from "effect/testing"
import { addBot, harness } from "../harness.ts"

const { McpConnectorMemoryControl } = McpConnectorMemory

const tool = (name: string): McpTool => ({
  name,
  title: null,
  description: `the ${name} tool`,
  inputSchema: { type: "object", properties: {} }
})
const answering = (name: string) => ({
  tool: tool(name),
  handle: () => Effect.succeed({ isError: false, text: name })
})

const options = { syncEvery: "1 minute", quietRetry: "1 hour", backoffMax: "5 minutes" } as const

/** The watch's fibers run a little: each adjust lets them start, sync and read. */
const letItRun = TestClock.adjust("1 millis").pipe(Effect.repeat({ times: 5 }))

describe("the MCP tool watch", () => {
  it.effect("a stream per used server; a change lists the tools again; detached, the stream closes", () =>
    Effect.gen(function* () {
      const control = yield* McpConnectorMemoryControl
      yield* control.setTools([answering("lookup_order"), answering("track_parcel")])
      yield* control.setAnnounces(true)
      const service = yield* McpServerService
      const server = yield* service.create({
        name: "shop",
        url: "https://mcp.example.com/mcp",
        headers: Redacted.make({}),
        allowedTools: ["lookup_order", "track_parcel"]
      })
      const unused = yield* service.create({
        name: "other",
        url: "https://other.example.com/mcp",
        headers: Redacted.make({})
      })
      const { bot } = yield* addBot({ mcpServerIds: [server.id] })
      yield* Effect.forkScoped(watchMcpTools(options))
      yield* letItRun
      assert.deepStrictEqual(yield* control.openWatches, ["https://mcp.example.com/mcp"], unused.name)

      yield* control.setTools([answering("lookup_order")])
      yield* control.announceChange
      yield* letItRun
      assert.deepStrictEqual(
        (yield* service.get(server.id)).tools.map((listed) => listed.name),
        ["lookup_order"]
      )

      // No bot uses it any more: at the next sync its stream is closed.
      yield* (yield* BotService).update(bot.id, { mcpServerIds: [] })
      yield* TestClock.adjust("1 minute")
      yield* letItRun
      assert.deepStrictEqual(yield* control.openWatches, [])
    }).pipe(Effect.scoped, Effect.provide(harness()))
  )
})
