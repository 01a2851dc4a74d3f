/**
 * A chat-completion model (OpenAI or any compatible server). The adapter owns
 * timeouts, retries of retryable errors, the fallback model and pricing.
 */
import type { ModelPrices } from "@botfleet/domain"
import { Context, type Effect, type Redacted, Schema, type Stream } from "effect"

export interface ChatTurn {
  readonly role: "system" | "user" | "assistant" | "tool"
  readonly content: string
  /** conversations: images the user sent with this turn, as data URLs (user turns only). */
  readonly images?: ReadonlyArray<string> | undefined
  /** An assistant turn that asked for tools (its content is often empty). */
  readonly toolCalls?: ReadonlyArray<ToolCall> | undefined
  /** A `tool` turn: the call whose result `content` is. */
  readonly toolCallId?: string | undefined
}

/** A tool the model may call: OpenAI's `tools[].function`. */
export interface ToolDefinition {
  /** Unique in the request, `^[a-zA-Z0-9_-]{1,64}$`. */
  readonly name: string
  readonly description: string
  /** The JSON Schema of the arguments (an object schema). */
  readonly parameters: Readonly<Record<string, unknown>>
}

/** A call the model asked for; `arguments` is the JSON text it wrote, not yet parsed. */
export interface ToolCall {
  readonly id: string
  readonly name: string
  readonly arguments: string
}

/**
 * What a provider said about its rate limit (OpenAI's `x-ratelimit-*`
 * headers, when it sends them): the requests and tokens left in the current
 * window, the seconds until the window is full again, and the window's size.
 */
export interface RateLimitInfo {
  readonly limitRequests: number | null
  readonly remainingRequests: number | null
  readonly resetRequestsSeconds: number | null
  readonly limitTokens: number | null
  readonly remainingTokens: number | null
  readonly resetTokensSeconds: number | null
}

export const RateLimitInfoSchema = Schema.Struct({
  limitRequests: Schema.NullOr(Schema.Number),
  remainingRequests: Schema.NullOr(Schema.Number),
  resetRequestsSeconds: Schema.NullOr(Schema.Number),
  limitTokens: Schema.NullOr(Schema.Number),
  remainingTokens: Schema.NullOr(Schema.Number),
  resetTokensSeconds: Schema.NullOr(Schema.Number)
})

export interface Completion {
  readonly text: string
  /** The model that answered (the fallback one when it was used). */
  readonly model: string
  readonly inputTokens: number
  readonly outputTokens: number
  readonly costUsd: number
  readonly usedFallback: boolean
  /** The provider's rate-limit headers on this answer, when it sent any. */
  readonly rateLimit?: RateLimitInfo | undefined
  /** The tools the model asked for instead of (or with) its text, in its order; absent: none. */
  readonly toolCalls?: ReadonlyArray<ToolCall> | undefined
  /**
   * The request offered tools and the provider refuses them: it was answered
   * without, and later requests to the provider leave them out.
   */
  readonly toolsRefused?: boolean | undefined
}

/** What a streamed completion emits: text as it comes, then the whole answer with its usage. */
export type CompletionEvent =
  | { readonly _tag: "TextDelta"; readonly text: string }
  | { readonly _tag: "Finished"; readonly completion: Completion }

/**
 * providers: a stored provider's server and key. A request without
 * one goes to the env default (OPENAI_BASE_URL, OPENAI_API_KEY).
 */
export interface ModelEndpoint {
  readonly providerId: string
  /** Changes whenever the provider is edited (its updatedAt): the adapter then builds a new client. */
  readonly version: number
  readonly baseUrl: string
  readonly apiKey: Redacted.Redacted<string>
  /** Added to (or correcting) the adapter's table for this provider's replies. */
  readonly prices: ModelPrices
}

export interface CompletionRequest {
  readonly model: string
  readonly messages: ReadonlyArray<ChatTurn>
  /** Absent: the env default provider. */
  readonly endpoint?: ModelEndpoint | undefined
  /** Absent: the adapter's own (OPENAI_FALLBACK_MODEL); null: no fallback. */
  readonly fallbackModel?: string | null | undefined
  /** 0–2; absent or null: the server's default. */
  readonly temperature?: number | null | undefined
  /** Absent or null: no limit beyond the model's own. */
  readonly maxOutputTokens?: number | null | undefined
  /** The tools the model may call; absent or empty: none offered. */
  readonly tools?: ReadonlyArray<ToolDefinition> | undefined
  /** "none": the tools are described but the model must answer in text (the last step of a turn). */
  readonly toolChoice?: "auto" | "none" | undefined
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

/** OpenAI's code (in a 400) for a prompt longer than the model's context window. */
export const CONTEXT_LENGTH_EXCEEDED = "context_length_exceeded"

export class LlmError extends Schema.TaggedError<LlmError>()("LlmError", {
  kind: LlmErrorKind,
  model: Schema.String,
  description: Schema.String,
  retryAfterSeconds: Schema.NullOr(Schema.Number),
  /** The provider's rate-limit headers on the refusal, when it sent any. */
  rateLimit: Schema.optional(Schema.NullOr(RateLimitInfoSchema)),
  /** The server's error code when it gave a plain one (OpenAI's `context_length_exceeded`). */
  code: Schema.optional(Schema.NullOr(Schema.String))
}) {
  override get message() {
    return `LLM ${this.model} failed (${this.kind}): ${this.description}`
  }
  /** The prompt was longer than the model reads: a shorter one may be answered. */
  get contextTooLong(): boolean {
    return this.kind === "bad_request" && this.code === CONTEXT_LENGTH_EXCEEDED
  }
  get isRetryable(): boolean {
    return this.kind === "rate_limited" || this.kind === "timeout" || this.kind === "unavailable"
  }
}

export class LanguageModel extends Context.Service<
  LanguageModel,
  {
    readonly complete: (request: CompletionRequest) => Effect.Effect<Completion, LlmError>
    /**
     * The same answer, streamed: `TextDelta`s, then one `Finished` whose
     * completion holds the whole text. Retries and the fallback model apply
     * only until the first delta (after that a retry would repeat text).
     */
    readonly stream: (request: CompletionRequest) => Stream.Stream<CompletionEvent, LlmError>
  }
>()("@botfleet/application/LanguageModel") {}
