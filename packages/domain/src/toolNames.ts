/**
 * The built-in tools by name (application/src/tools/builtins.ts declares each):
 * what a bot's `tools` setting and a persona's `tools` choose from.
 */
import { Schema } from "effect"

export const BuiltinToolName = Schema.Literals([
  "current_time",
  "fetch_url",
  "generate_image",
  "remember",
  "forget"
])
export type BuiltinToolName = typeof BuiltinToolName.Type

/** Model requests that may call tools in one reply before it must answer in text. */
export const DEFAULT_MAX_TOOL_STEPS = 5
export const MAX_TOOL_STEPS = 20
