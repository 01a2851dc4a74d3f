/**
 * The tools a bot is offered in one reply: its switched-on built-ins that have
 * a handler (BuiltinToolkit), then the allowed tools of its MCP servers. Each
 * comes with what the turn loop needs: its definition for the model (name,
 * description, JSON Schema), the title the draft shows while it runs, whether
 * a call cut short by a restart may be made again, its timeout, and how to run
 * it. Every name is unique and valid for OpenAI (`^[a-zA-Z0-9_-]{1,64}$`): an
 * MCP tool whose name is taken or invalid is prefixed with its server's name.
 */
import { type Bot, type McpServerId, McpServerModel } from "@botfleet/domain"
import { Context, Duration, Effect, Stream } from "effect"
import * as Tool from "effect/ai/Tool"
import type * as Toolkit from "effect/ai/Toolkit"
import { McpServerService } from "../mcpServers/McpServerService.ts"
import type { ToolDefinition } from "../ports/LanguageModel.ts"
import { BuiltinToolkit } from "./builtins.ts"
import { SearchKnowledge, SearchKnowledgeToolkit } from "./searchKnowledge.ts"
import type { ToolTurn } from "./ToolTurn.ts"

/** A built-in tool that hangs is given up after this; an MCP server has its own timeout. */
export const BUILTIN_TOOL_TIMEOUT = Duration.seconds(30)

/** What a call gave the model: the text it reads, and whether the tool failed. */
export interface ToolOutcome {
  readonly text: string
  readonly isError: boolean
}

export interface OfferedTool {
  readonly definition: ToolDefinition
  /** What the user's draft says while it runs, e.g. "Checking the time". */
  readonly title: string
  /** A call in flight when the process died may be made again. */
  readonly idempotent: boolean
  /** Its own name (an MCP server's, before any prefix). */
  readonly tool: string
  /** null: a built-in. */
  readonly mcpServerId: McpServerId | null
  readonly timeout: Duration.Duration
  readonly run: (args: Readonly<Record<string, unknown>>) => Effect.Effect<ToolOutcome, never, ToolTurn>
}

const VALID_NAME = /^[a-zA-Z0-9_-]{1,64}$/

const slug = (text: string) => text.replace(/[^a-zA-Z0-9_-]+/g, "_").replace(/^_+|_+$/g, "") || "mcp"

/** `wanted` if free and valid; else prefixed with the server's name; else numbered. */
export const uniqueName = (wanted: string, server: string, taken: ReadonlySet<string>): string => {
  if (VALID_NAME.test(wanted) && !taken.has(wanted)) return wanted
  const prefixed = `${slug(server)}_${slug(wanted)}`.slice(0, 64)
  if (!taken.has(prefixed)) return prefixed
  for (let n = 2; ; n++) {
    const numbered = `${prefixed.slice(0, 60)}_${n}`
    if (!taken.has(numbered)) return numbered
  }
}

const cut = (text: string, max: number) => (text.length > max ? `${text.slice(0, max)}…` : text)

export const makeOfferedTools = Effect.gen(function* () {
  // Seen as toolkits of any tools: each is called by name, its calls needing only ToolTurn.
  type AnyToolkit = Toolkit.WithHandler<Record<string, Tool.Any>>
  const builtinKit = (yield* BuiltinToolkit) as unknown as AnyToolkit
  const knowledgeKit = (yield* SearchKnowledgeToolkit) as unknown as AnyToolkit
  const mcp = yield* McpServerService

  /** One of our own tools, from the toolkit that handles it. */
  const ownTool = (toolkit: AnyToolkit, name: string): OfferedTool | undefined => {
    const tools = toolkit.tools as Readonly<Record<string, Tool.Any>>
    const tool = Object.hasOwn(tools, name) ? tools[name] : undefined
    if (tool === undefined) return undefined
    return {
      definition: {
        name,
        description: Tool.getDescription(tool) ?? name,
        parameters: Tool.getJsonSchema(tool) as Record<string, unknown>
      },
      title: Context.getOrUndefined(tool.annotations, Tool.Title) ?? name,
      idempotent: Context.get(tool.annotations, Tool.Idempotent),
      tool: name,
      mcpServerId: null,
      timeout: BUILTIN_TOOL_TIMEOUT,
      run: (args) =>
        toolkit.handle(name, args as never).pipe(
          Effect.flatMap(Stream.runLast),
          Effect.map((last): ToolOutcome => {
            if (last._tag === "None") return { text: "the tool gave no result", isError: true }
            const { encodedResult, isFailure, failureOrigin } = last.value
            if (isFailure && failureOrigin === "parameters") {
              const described = (last.value.result as { message?: unknown }).message
              return {
                text: `the arguments do not fit the tool's parameters: ${cut(String(described ?? ""), 300)}`,
                isError: true
              }
            }
            return { text: JSON.stringify(encodedResult), isError: isFailure }
          }),
          // A handler's defect or AiError is ours to log, not the model's to read.
          Effect.catchCause((cause) =>
            Effect.as(Effect.logWarning("tool failed", { tool: name, cause }), {
              text: "the tool failed",
              isError: true
            })
          )
        )
    }
  }

  /** The bot's tools for one reply; none when it has tools off. */
  const forBot = Effect.fn("Tools.offered")(function* (bot: Bot) {
    if (bot.maxToolSteps === 0) return []
    const offered: Array<OfferedTool> = []
    const taken = new Set<string>()
    // A bot whose knowledge bases are searched as a tool has search_knowledge whatever its `tools`.
    const own =
      bot.knowledgeMode === "tool" && bot.knowledgeBaseIds.length > 0
        ? [...bot.tools.map((name) => ownTool(builtinKit, name)), ownTool(knowledgeKit, SearchKnowledge.name)]
        : bot.tools.map((name) => ownTool(builtinKit, name))
    for (const tool of own) {
      if (tool === undefined) continue
      offered.push(tool)
      taken.add(tool.definition.name)
    }
    for (const id of bot.mcpServerIds) {
      const server = yield* mcp.get(id).pipe(Effect.option)
      if (server._tag === "None") continue
      const timeout = Duration.seconds(server.value.timeoutSeconds)
      for (const tool of McpServerModel.offeredTools(server.value)) {
        const name = uniqueName(tool.name, server.value.name, taken)
        taken.add(name)
        offered.push({
          definition: {
            name,
            description: tool.description ?? tool.title ?? tool.name,
            parameters: tool.inputSchema
          },
          title: tool.title ?? tool.name,
          idempotent: tool.idempotent === true,
          tool: tool.name,
          mcpServerId: server.value.id,
          timeout,
          run: (args) =>
            mcp.callTool(server.value.id, tool.name, args).pipe(
              Effect.map((result): ToolOutcome => ({ text: result.text, isError: result.isError })),
              // Our words: the server's own failure text never reaches the model.
              Effect.catch((error) =>
                Effect.succeed<ToolOutcome>({
                  text:
                    error._tag === "McpServerUnreachable"
                      ? "the tool's server could not be reached or timed out"
                      : error._tag === "McpHeadersRefused"
                        ? "the tool's server refused our credentials"
                        : error._tag === "UrlNotAllowed"
                          ? "the tool's server address is not allowed"
                          : "the tool is no longer available",
                  isError: true
                })
              )
            )
        })
      }
    }
    return offered
  })

  return { forBot }
})
