/**
 * The tool calls of replies, stored before and after each one runs: what makes
 * a rerun of the same message reuse a finished call and never silently repeat
 * one that was in flight (pipeline/reply/tools.ts).
 */
import type { McpServerId, MessageId } from "@botfleet/domain"
import { Context, type Effect } from "effect"

/** What the model request that asked for a call cost (the same on every call of its step). */
export interface StepUsage {
  readonly model: string
  readonly inputTokens: number
  readonly outputTokens: number
  readonly costUsd: number
}

export interface StoredToolCall {
  /** The user message the reply answers. */
  readonly messageId: MessageId
  /** The model request that asked for it, from 0. */
  readonly step: number
  /** The model's id for the call. */
  readonly callId: string
  /** Its place among the calls of its step. */
  readonly position: number
  /** The name the model saw. */
  readonly name: string
  /** The tool's own name (an MCP server's, before any prefix). */
  readonly tool: string
  /** null: a built-in tool. */
  readonly mcpServerId: McpServerId | null
  /** The JSON text the model wrote. */
  readonly arguments: string
  readonly status: "running" | "finished"
  /** The whole result (never cut); null while running. */
  readonly result: string | null
  readonly isError: boolean
  readonly startedAt: Date
  readonly finishedAt: Date | null
  readonly usage: StepUsage
}

export interface ToolCallKey {
  readonly messageId: MessageId
  readonly step: number
  readonly callId: string
}

export class ToolCallRepository extends Context.Service<
  ToolCallRepository,
  {
    /** The calls made for these messages' replies, by message, then step and position. */
    readonly forMessages: (ids: ReadonlyArray<MessageId>) => Effect.Effect<ReadonlyArray<StoredToolCall>>
    /** Stores a step's calls as running, all or none; a call already stored is left as it is. */
    readonly start: (calls: ReadonlyArray<StoredToolCall>) => Effect.Effect<void>
    readonly finish: (
      key: ToolCallKey,
      outcome: { readonly result: string; readonly isError: boolean; readonly at: Date }
    ) => Effect.Effect<void>
  }
>()("@botfleet/application/ToolCallRepository") {}
