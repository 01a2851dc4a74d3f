/**
 * An in-memory MCP connector for use-case tests: every server lists the same
 * scripted tools; a call answers with its handler's result, and every call is
 * counted, so tests can tell a tool made once from one made twice. It
 * announces no tool changes (a watch ends at once, "unannounced") until a
 * test says it does; then a watch stays open, counted by URL, and
 * `announceChange` reaches every open one.
 */
import { McpConnector, type McpToolResult, type McpToolsEvent } from "@botfleet/application"
import type { McpTool } from "@botfleet/domain"
import { Context, Effect, Layer, PubSub, Stream } from "effect"

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
    /** From now on, watches stay open and hear `announceChange`. */
    readonly setAnnounces: (announces: boolean) => Effect.Effect<void>
    readonly announceChange: Effect.Effect<void>
    /** The URLs of the watches open now, one entry per watch. */
    readonly openWatches: Effect.Effect<ReadonlyArray<string>>
  }
>()("@botfleet/adapters/McpConnectorMemoryControl") {}

export const layerMemory: Layer.Layer<McpConnector | McpConnectorMemoryControl> = Layer.effectContext(
  Effect.gen(function* () {
    const changes = yield* PubSub.unbounded<void>()
    let announces = false
    const open: Array<string> = []
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
      watchTools: (connection) =>
        Stream.unwrap(
          Effect.sync(() =>
            announces
              ? Stream.concat(
                  Stream.succeed<McpToolsEvent>("listening"),
                  Stream.map(Stream.fromPubSub(changes), (): McpToolsEvent => "changed")
                ).pipe(
                  Stream.onStart(Effect.sync(() => open.push(connection.url))),
                  Stream.ensuring(Effect.sync(() => open.splice(open.indexOf(connection.url), 1)))
                )
              : Stream.succeed<McpToolsEvent>("unannounced")
          )
        )
    })
    const control = McpConnectorMemoryControl.of({
      setTools: (next) =>
        Effect.sync(() => {
          tools = next
        }),
      calls: Effect.sync(() => calls.slice()),
      setAnnounces: (next) =>
        Effect.sync(() => {
          announces = next
        }),
      announceChange: Effect.asVoid(PubSub.publish(changes, undefined)),
      openWatches: Effect.sync(() => open.slice())
    })
    return Context.make(McpConnector, connector).pipe(Context.add(McpConnectorMemoryControl, control))
  })
)
