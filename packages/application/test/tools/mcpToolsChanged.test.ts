/**
 * An MCP server that changes its tools while answering a call, on the memory
 * twins: the call's result says so (toolsChanged), the stored list is listed
 * again at once, and the next question's request offers the new list.
 */
import { LanguageModelMemory, McpConnectorMemory } from "@botfleet/adapters"
import { McpServerService } from "@botfleet/application"
import type { McpTool } from "@botfleet/domain"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Redacted } from "effect"
import { addBot, harness, processUpdate, textUpdate } from "../harness.ts"

const { LanguageModelMemoryControl } = LanguageModelMemory
const { McpConnectorMemoryControl } = McpConnectorMemory

const tool = (name: string): McpTool => ({
  name,
  title: null,
  description: `the ${name} tool`,
  inputSchema: { type: "object", properties: {} }
})

describe("an MCP server's tools changed by a call", () => {
  it.effect("the call says so: the list is stored again and the next question offers it", () =>
    Effect.gen(function* () {
      const control = yield* McpConnectorMemoryControl
      const retire = {
        tool: tool("retire_helper"),
        // The call retires `helper` on the server and announces the change in its answer.
        handle: () =>
          Effect.as(control.setTools([retire]), { isError: false, text: "retired", toolsChanged: true })
      }
      yield* control.setTools([
        retire,
        { tool: tool("helper"), handle: () => Effect.succeed({ isError: false, text: "ok" }) }
      ])
      const server = yield* (yield* McpServerService).create({
        name: "shop",
        url: "https://mcp.example.com/mcp",
        headers: Redacted.make({}),
        allowedTools: ["retire_helper", "helper"]
      })
      const { bot } = yield* addBot({ mcpServerIds: [server.id], streaming: false })
      yield* LanguageModelMemoryControl.use((model) =>
        model.setReply((request) =>
          request.messages.at(-1)?.content === "retire it"
            ? { text: "", toolCalls: [{ id: "c1", name: "retire_helper", arguments: "{}" }] }
            : "done"
        )
      )
      yield* processUpdate(bot, textUpdate(1, "retire it"))
      yield* processUpdate(bot, textUpdate(2, "what now?"))

      const requests = yield* LanguageModelMemoryControl.use((model) => model.requests)
      assert.deepStrictEqual(
        requests.map((request) => request.tools?.map((offered) => offered.name)),
        [["retire_helper", "helper"], ["retire_helper", "helper"], ["retire_helper"]]
      )
      const stored = yield* (yield* McpServerService).get(server.id)
      assert.deepStrictEqual(
        stored.tools.map((listed) => listed.name),
        ["retire_helper"]
      )
      // The admin's choice stays: shown again, helper would be offered again.
      assert.deepStrictEqual(stored.allowedTools, ["retire_helper", "helper"])
    }).pipe(Effect.provide(harness()))
  )
})
