/**
 * An in-memory MCP connector for use-case tests: every server lists the same
 * scripted tools; a call answers with its handler's result, and every call is
 * counted, so tests can tell a tool made once from one made twice. It
 * announces no tool changes: a watch ends at once ("unannounced").
 */
import { McpConnector, type McpToolResult, type McpToolsEvent } from "@botfleet/application"
import type { McpTool } from "@botfleet/domain"
import { Context, Effect, Layer, Stream } from "effect"

export interface MemoryTool {
  readonly tool: McpTool
  readonly handle: (args: Readonly<Record<string, unknown>>) => Effect.Effect<McpToolResult>
}

export class McpConnectorMemoryControl extends Context.Service<
  McpConnectorMemoryControl,
  {
    readonly setTools: (tools: ReadonlyArray<MemoryTool>) => Effect.Effect<void>
    /** Every call made, oldest first. */
    readonly calls: Effect.Effect<ReadonlyArray<{ readonly name: string; readonly args: unknown }>>
  }
>()("@botfleet/adapters/McpConnectorMemoryControl") {}

export const layerMemory: Layer.Layer<McpConnector | McpConnectorMemoryControl> = Layer.effectContext(
  Effect.sync(() => {
    let tools: ReadonlyArray<MemoryTool> = []
    const calls: Array<{ readonly name: string; readonly args: unknown }> = []
    const connector = McpConnector.of({
      listTools: () => Effect.sync(() => tools.map((entry) => entry.tool)),
      callTool: (_connection, tool, args) =>
        Effect.suspend(() => {
          calls.push({ name: tool.name, args })
          const entry = tools.find((candidate) => candidate.tool.name === tool.name)
          return entry === undefined
            ? Effect.succeed({ isError: true, text: `unknown tool ${tool.name}` })
            : entry.handle(args)
        }),
      watchTools: () => Stream.succeed<McpToolsEvent>("unannounced")
    })
    const control = McpConnectorMemoryControl.of({
      setTools: (next) =>
        Effect.sync(() => {
          tools = next
        }),
      calls: Effect.sync(() => calls.slice())
    })
    return Context.make(McpConnector, connector).pipe(Context.add(McpConnectorMemoryControl, control))
  })
)
