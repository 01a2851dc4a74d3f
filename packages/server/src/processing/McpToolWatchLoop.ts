/**
 * Keeps one tool-change stream open per MCP server an active bot uses, in
 * this process (application/mcpServers/McpToolWatch.ts); closed at shutdown
 * with the layer's scope.
 */
import { watchMcpTools } from "@botfleet/application"
import { Effect, Layer } from "effect"

export const McpToolWatchLoop = Layer.effectDiscard(Effect.forkScoped(watchMcpTools()))
