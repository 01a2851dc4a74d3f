/**
 * The part of the MCP connector that needs effect/ai's McpClient: connecting
 * one client over Streamable HTTP and converting its tools and results.
 * McpConnectorHttp loads this module on the first MCP operation.
 */
import type { McpTool } from "@botfleet/domain"
import { Effect, Schema } from "effect"
import * as McpClient from "effect/ai/McpClient"
import * as McpProtocol from "effect/ai/McpProtocol"
import * as McpSchema from "effect/ai/McpSchema"

/** The widest-spoken revision with Streamable HTTP; sessions are opened and closed per operation. */
const PROTOCOL = McpProtocol.v2025_11_25

/** A client for one operation, over the HttpClient and Scope the caller provides. */
export const connect = (
  url: string,
  headers: Record<string, string>,
  timeoutMs: number,
  maxMessageBytes: number
) =>
  Effect.gen(function* () {
    const transport = yield* McpClient.http({ url, protocol: PROTOCOL, headers, maxMessageBytes })
    return yield* McpClient.make({
      name: "botfleet",
      version: "1.0.0",
      timeout: `${timeoutMs} millis`
    }).pipe(Effect.provideService(McpClient.Transport, transport))
  })

export const toMcpTool = (tool: McpSchema.Tool): McpTool => ({
  name: tool.name,
  title: tool.title ?? null,
  description: tool.description ?? null,
  inputSchema: tool.inputSchema as Record<string, unknown>,
  ...(tool.annotations?.idempotentHint === true ? { idempotent: true } : {})
})

const decodeTool = Schema.decodeUnknownSync(McpSchema.Tool)
export const fromMcpTool = (tool: McpTool): McpSchema.Tool =>
  decodeTool({
    name: tool.name,
    ...(tool.title === null ? {} : { title: tool.title }),
    ...(tool.description === null ? {} : { description: tool.description }),
    inputSchema: tool.inputSchema
  })

/** Text of every block the model can read; other blocks (images, audio) are named, not sent. */
export const resultText = (result: McpSchema.CallToolResult): string => {
  const parts: Array<string> = []
  for (const block of result.content) {
    if (block.type === "text") parts.push(block.text)
    else if (block.type === "resource" && "text" in block.resource) parts.push(block.resource.text)
    else if (block.type === "resource_link") parts.push(`${block.name}: ${block.uri}`)
    else parts.push(`[${block.type} content omitted]`)
  }
  return parts.length === 0 && result.structuredContent !== undefined
    ? JSON.stringify(result.structuredContent)
    : parts.join("\n")
}
