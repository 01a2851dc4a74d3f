/**
 * A chat-completion model (OpenAI or any compatible server). The adapter owns
 * timeouts, retries of retryable errors, the fallback model and pricing.
 */
import { Context, type Effect, Schema } from "effect"

export interface ChatTurn {
  readonly role: "system" | "user" | "assistant"
  readonly content: string
}

export interface Completion {
  readonly text: string
  /** The model that answered (the fallback one when it was used). */
  readonly model: string
  readonly inputTokens: number
  readonly outputTokens: number
  readonly costUsd: number
  readonly usedFallback: boolean
}

/**
 * auth (401, bad key) and quota (insufficient_quota) are not retried;
 * rate_limited, timeout and unavailable (5xx, resets) are; bad_request
 * (e.g. unknown model, context too long) is not.
 */
export const LlmErrorKind = Schema.Literals([
  "auth",
  "quota",
  "rate_limited",
  "timeout",
  "unavailable",
  "bad_request"
])
export type LlmErrorKind = typeof LlmErrorKind.Type

export class LlmError extends Schema.TaggedError<LlmError>()("LlmError", {
  kind: LlmErrorKind,
  model: Schema.String,
  description: Schema.String,
  retryAfterSeconds: Schema.NullOr(Schema.Number)
}) {
  override get message() {
    return `LLM ${this.model} failed (${this.kind}): ${this.description}`
  }
  get isRetryable(): boolean {
    return this.kind === "rate_limited" || this.kind === "timeout" || this.kind === "unavailable"
  }
}

export class LanguageModel extends Context.Service<
  LanguageModel,
  {
    readonly complete: (request: {
      readonly model: string
      readonly messages: ReadonlyArray<ChatTurn>
    }) => Effect.Effect<Completion, LlmError>
  }
>()("@botfleet/application/LanguageModel") {}
