/**
 * LanguageModel through chat completions, against OpenAI or any compatible
 * server (OPENAI_BASE_URL): the `openai` SDK's wire types and errors over a
 * lean HTTP client (chatCompletionsHttp.ts, for speed). Retries are ours:
 * classified (only rate limits, timeouts and outages are retried), traced per
 * attempt, and followed by one try of the fallback model.
 *
 * providers: a request may name a stored provider's endpoint; each
 * provider gets its own client, kept until the provider changes (its version).
 * Requests without one use the env default's client.
 *
 * Who set the URL decides how far it is trusted. A provider's base URL came
 * from an admin: it goes through the outbound guard (`outbound`), and what
 * its server answers is kept only as status, a short error code and our own
 * words. OPENAI_BASE_URL is the operator's own setting: unguarded (it may
 * name any address the operator chooses), and its server's message is kept,
 * cut short, as OpenAI's messages say what to fix.
 */
import {
  type ChatTurn,
  type Completion,
  type CompletionEvent,
  type CompletionRequest,
  LanguageModel,
  LlmError,
  type LlmErrorKind,
  type ModelEndpoint,
  PROVIDER_CACHE_SIZE,
  type RateLimitInfo,
  type ToolCall,
  VersionedCache
} from "@botfleet/application"
import { Duration, Effect, Layer, Redacted, Schedule, Stream } from "effect"
import type OpenAI from "openai"
import { APIConnectionError, APIConnectionTimeoutError, APIError, APIUserAbortError } from "openai/error"
import * as Outbound from "../outbound/OutboundClient.ts"
import { createCompletion, type Endpoint, endpoint, openCompletionStream } from "./chatCompletionsHttp.ts"
import { costOf, type PriceTable, priceOf } from "./prices.ts"

export interface LanguageModelOpenAIOptions {
  /** Unset for keyless local servers (Ollama, vLLM): a placeholder is sent instead. */
  readonly apiKey: Redacted.Redacted<string> | undefined
  /** Unset: OpenAI's API. */
  readonly baseUrl: URL | undefined
  /** Tried once (with its own retries) when the primary model is down or unknown. */
  readonly fallbackModel: string | undefined
  readonly prices: PriceTable
  /** Per attempt; default 60 seconds. */
  readonly requestTimeout?: Duration.Input | undefined
  /** Retries per model after the first attempt; default 2. */
  readonly maxRetries?: number | undefined
  /** The guard for providers' URLs; default one that allows private networks (metadata never). */
  readonly outbound?: Outbound.OutboundClient | undefined
}

const OPENAI_API = "https://api.openai.com/v1"
// Servers that need no key ignore the header.
const KEYLESS_PLACEHOLDER = "no-api-key-configured"
// A server asking for a longer pause is better served by the caller's own
// (durable) backoff than by holding this request open.
const MAX_RETRY_AFTER_SECONDS = 20
/**
 * A rate limit asking for longer goes back to the pipeline at once: its
 * pacer shuts the key until then and hands the chat back (`Paced`), so the
 * wait holds no slot another bot's chat could use.
 */
const MAX_RATE_LIMIT_WAIT_SECONDS = 1
const MAX_BACKOFF = Duration.seconds(10)

/** An attempt's failure, plus what the fallback decision needs beyond the port's error. */
export interface Failed {
  readonly error: LlmError
  /** The server does not know the model (404 / model_not_found): another model may work. */
  readonly modelMissing: boolean
}

/** An answer as the server gave it: whole (`complete`) or gathered from its chunks (`stream`). */
interface Answer {
  readonly text: string
  /** As the response names it, e.g. a dated snapshot of the requested one. */
  readonly model: string
  readonly requested: string
  readonly inputTokens: number
  readonly outputTokens: number
  /** The choice's finish_reason; null when none came. */
  readonly finish: string | null
  readonly rateLimit: RateLimitInfo | undefined
  readonly toolCalls: ReadonlyArray<ToolCall>
}

/** An empty answer is only an answer when the model says it is done, or asks for tools. */
const emptyAnswer = (answer: Answer): LlmError | undefined =>
  answer.text === "" && answer.finish !== "stop" && answer.toolCalls.length === 0
    ? new LlmError({
        kind: "unavailable",
        model: answer.requested,
        description: `empty completion (finish_reason: ${answer.finish ?? "none"})`,
        retryAfterSeconds: null
      })
    : undefined

/** Priced by the model that answered; by the one asked for when that name has no price. */
const completionOf = (answer: Answer, prices: PriceTable, usedFallback: boolean): Completion => {
  const pricedAs = priceOf(answer.model, prices) === undefined ? answer.requested : answer.model
  return {
    text: answer.text,
    model: answer.model,
    inputTokens: answer.inputTokens,
    outputTokens: answer.outputTokens,
    costUsd: costOf(pricedAs, answer.inputTokens, answer.outputTokens, prices),
    usedFallback,
    ...(answer.rateLimit === undefined ? {} : { rateLimit: answer.rateLimit }),
    ...(answer.toolCalls.length === 0 ? {} : { toolCalls: answer.toolCalls })
  }
}

/**
 * A server that has no tool calling answers a request with `tools` with a
 * 400 (or 422) naming them ("tools is not supported", "does not support
 * tools", "unknown field: functions"). Read from the raw error, before its
 * words are withheld: only the yes/no is kept.
 */
export const refusesTools = (cause: unknown): boolean =>
  cause instanceof APIError &&
  (cause.status === 400 || cause.status === 422) &&
  /\btools?\b|\bfunctions?\b|function.?call|tool.?call|tool_choice/i.test(cause.message)

/** The calls of a non-streamed answer; only function calls exist in chat completions. */
const toolCallsOf = (message: OpenAI.Chat.ChatCompletionMessage | undefined): ReadonlyArray<ToolCall> =>
  (message?.tool_calls ?? []).flatMap((call) =>
    call.type === "function"
      ? [{ id: call.id, name: call.function.name, arguments: call.function.arguments }]
      : []
  )

/** `retry-after-ms` (OpenAI's), then `retry-after` in seconds or as an HTTP date. */
const retryAfterSeconds = (headers: Headers | undefined): number | null => {
  const millis = Number.parseFloat(headers?.get("retry-after-ms") ?? "")
  if (Number.isFinite(millis) && millis >= 0) return millis / 1000
  const value = headers?.get("retry-after")
  if (value === undefined || value === null || value.trim() === "") return null
  const seconds = Number(value)
  if (Number.isFinite(seconds) && seconds >= 0) return seconds
  const date = Date.parse(value)
  return Number.isNaN(date) ? null : Math.max(0, (date - Date.now()) / 1000)
}

/** OpenAI's durations: "1s", "6m0s", "20ms", "1h2m3.5s"; a bare number is seconds. */
const durationSeconds = (value: string | null | undefined): number | null => {
  if (value === null || value === undefined || value.trim() === "") return null
  const bare = Number(value)
  if (Number.isFinite(bare)) return bare
  let seconds = 0
  let matched = false
  for (const [, amount, unit] of value.matchAll(/(\d+(?:\.\d+)?)(ms|h|m|s)/g)) {
    matched = true
    seconds += Number(amount) * (unit === "ms" ? 0.001 : unit === "h" ? 3600 : unit === "m" ? 60 : 1)
  }
  return matched ? seconds : null
}

/** The `x-ratelimit-*` headers, for the pacer; undefined when the server sends none. */
export const rateLimitOf = (headers: Headers | undefined): RateLimitInfo | undefined => {
  const number = (name: string) => {
    const value = Number.parseFloat(headers?.get(name) ?? "")
    return Number.isFinite(value) ? value : null
  }
  const info: RateLimitInfo = {
    limitRequests: number("x-ratelimit-limit-requests"),
    remainingRequests: number("x-ratelimit-remaining-requests"),
    resetRequestsSeconds: durationSeconds(headers?.get("x-ratelimit-reset-requests")),
    limitTokens: number("x-ratelimit-limit-tokens"),
    remainingTokens: number("x-ratelimit-remaining-tokens"),
    resetTokensSeconds: durationSeconds(headers?.get("x-ratelimit-reset-tokens"))
  }
  return Object.values(info).some((value) => value !== null) ? info : undefined
}

/**
 * "Connection error." alone says little; the causes say ECONNREFUSED, "the
 * answer was cut off"... A cause's errno code stands for its message, which
 * would name the address tried.
 */
const describeConnectionError = (error: Error): string => {
  const parts = [error.message]
  let cause: unknown = error.cause
  for (let depth = 0; depth < 3 && cause instanceof Error; depth++) {
    const code = (cause as { code?: unknown }).code
    parts.push(typeof code === "string" && code !== "" ? code : cause.message)
    cause = cause.cause
  }
  return parts.map((part) => part.replace(/\.$/, "")).join(": ")
}

/** An OpenAI-style error code ("model_not_found"): short and plain enough to keep. */
const safeCode = (code: unknown): string | undefined =>
  typeof code === "string" && /^[a-z][a-z0-9_]{0,47}$/.test(code) ? code : undefined

/** What is kept of a trusted server's own message. */
const QUOTED_MAX = 300

const cut = (text: string, max: number) => (text.length > max ? `${text.slice(0, max)}…` : text)

/**
 * How a server's failure is described: `quoted` keeps its message (cut
 * short), `withheld` keeps only the status, a plain error code and our words.
 */
export type ServerWords = "quoted" | "withheld"

export const classify = (
  cause: unknown,
  model: string,
  scrub: (text: string) => string,
  serverWords: ServerWords = "quoted"
): Failed => {
  const failed = (
    kind: LlmErrorKind,
    description: string,
    retryAfter: number | null = null,
    modelMissing = false,
    rateLimit: RateLimitInfo | null = null,
    code: string | null = null
  ): Failed => ({
    error: new LlmError({
      kind,
      model,
      description: scrub(description),
      retryAfterSeconds: retryAfter,
      rateLimit,
      code
    }),
    modelMissing
  })
  // Subclasses first: a timeout and an abort are also connection errors.
  if (cause instanceof APIConnectionTimeoutError)
    return failed("timeout", "no answer within the request timeout")
  if (cause instanceof APIUserAbortError) return failed("unavailable", "request aborted")
  // The outbound guard refused the provider's address: no retry or fallback will change that.
  if (cause instanceof APIConnectionError && cause.cause instanceof Outbound.OutboundRefused) {
    return failed("bad_request", `URL not allowed: ${cause.cause.message}`)
  }
  if (cause instanceof APIConnectionError) return failed("unavailable", describeConnectionError(cause))
  if (cause instanceof APIError) {
    const { status, code, type } = cause
    const plainCode = safeCode(code) ?? safeCode(type)
    /** The server's message, or only its status and code with our `words`. */
    const said = (words: string) =>
      serverWords === "quoted"
        ? // Scrubbed before it is cut: a key cut in two would no longer be found.
          cut(scrub(cause.message), QUOTED_MAX)
        : `${status === undefined ? "the server" : `HTTP ${status}`}${plainCode === undefined ? "" : ` ${plainCode}`}: ${words}`
    // An error event inside a stream: no status, only the server's words.
    if (typeof status !== "number")
      return failed("unavailable", said("the server reported an error mid-answer"))
    const retryAfter = retryAfterSeconds(cause.headers)
    // 403 (e.g. region or project not allowed) is as fatal as a bad key.
    if (status === 401 || status === 403) return failed("auth", said("the server refused the key"))
    if (status === 429) {
      return code === "insufficient_quota" || type === "insufficient_quota"
        ? failed("quota", said("the account is out of quota"))
        : failed(
            "rate_limited",
            said("too many requests"),
            retryAfter,
            false,
            rateLimitOf(cause.headers) ?? null
          )
    }
    if (status === 408) return failed("timeout", said("the server timed out"), retryAfter)
    // 409 is OpenAI's "lock timeout, try again".
    if (status === 409 || status >= 500) {
      return failed("unavailable", said("the server could not answer now"), retryAfter)
    }
    const modelMissing = status === 404 || code === "model_not_found"
    return failed(
      "bad_request",
      said(modelMissing ? "the server does not know the model" : "the server refused the request"),
      null,
      modelMissing,
      null,
      // The caller acts on a plain code: context_length_exceeded is answered with a shorter prompt.
      safeCode(code) ?? null
    )
  }
  // Not an HTTP error: most likely a body cut off or garbled on the way.
  return failed("unavailable", cause instanceof Error ? describeConnectionError(cause) : String(cause))
}

/**
 * Exponential from 500 ms with jitter, capped at 10 s, for retryable kinds
 * only; a server's retry-after is honoured when it is at most 20 s, or 1 s
 * for a rate limit (longer, the pacer waits it out without the slot).
 */
export const retrySchedule = (maxRetries: number) =>
  Schedule.exponential("500 millis").pipe(
    Schedule.jittered,
    Schedule.setInputType<Failed>(),
    Schedule.while(
      ({ input }) =>
        input.error.isRetryable &&
        (input.error.retryAfterSeconds ?? 0) <=
          (input.error.kind === "rate_limited" ? MAX_RATE_LIMIT_WAIT_SECONDS : MAX_RETRY_AFTER_SECONDS)
    ),
    Schedule.modifyDelay(({ input, duration }) => {
      const backoff = Duration.min(duration, MAX_BACKOFF)
      const asked = input.error.retryAfterSeconds
      return Effect.succeed(asked === null ? backoff : Duration.max(backoff, Duration.seconds(asked)))
    }),
    Schedule.upTo({ times: maxRetries })
  )

/**
 * When both models failed, report the error the caller can act on: a
 * retryable one (the outage will pass) over a permanent one, the fallback's
 * when both are alike. The other one is kept in the description; the
 * chosen one's rate-limit headers go with it, for the pacer of their key.
 */
const combine = (primary: LlmError, fallback: LlmError): LlmError => {
  const chosen = fallback.isRetryable || !primary.isRetryable ? fallback : primary
  const other = chosen === fallback ? primary : fallback
  return new LlmError({
    kind: chosen.kind,
    model: chosen.model,
    description: `${chosen.description}; ${other === primary ? "primary" : "fallback"} model ${other.model} also failed (${other.kind}): ${other.description}`,
    retryAfterSeconds: chosen.retryAfterSeconds,
    rateLimit: chosen.rateLimit ?? null,
    code: chosen.code ?? null
  })
}

/** One server with its key: the client, how to describe its failures, and how to price its answers. */
interface Target {
  readonly endpoint: Endpoint
  /** `classify` with the key hidden and the server's words kept or withheld. */
  readonly classify: (cause: unknown, model: string) => Failed
  readonly prices: PriceTable
  /**
   * OpenAI's own API wants max_completion_tokens (its reasoning models refuse
   * max_tokens); compatible servers (Ollama, vLLM, llama.cpp) know max_tokens.
   */
  readonly tokenLimitField: "max_completion_tokens" | "max_tokens"
  /** The server refused a request with tools once: later requests go without them (until the provider changes). */
  readonly tools: { refused: boolean }
}

/** The request's tuning as the API takes it; absent when the bot leaves it to the server. */
const tuningOf = (target: Target, request: CompletionRequest) => ({
  ...(request.temperature == null ? {} : { temperature: request.temperature }),
  ...(request.maxOutputTokens == null ? {} : { [target.tokenLimitField]: request.maxOutputTokens })
})

/** The tools as the API takes them; none when the server refuses them. */
const toolsOf = (target: Target, request: CompletionRequest) =>
  request.tools === undefined || request.tools.length === 0 || target.tools.refused
    ? {}
    : {
        tools: request.tools.map((tool) => ({
          type: "function" as const,
          function: { name: tool.name, description: tool.description, parameters: { ...tool.parameters } }
        })),
        ...(request.toolChoice === undefined ? {} : { tool_choice: request.toolChoice })
      }

/** A turn as the API takes it; a user turn with images becomes text and `image_url` parts. */
const toWire = (turn: ChatTurn): OpenAI.Chat.ChatCompletionMessageParam => {
  if (turn.role === "tool")
    return { role: "tool", tool_call_id: turn.toolCallId ?? "", content: turn.content }
  if (turn.role === "assistant" && turn.toolCalls !== undefined && turn.toolCalls.length > 0) {
    return {
      role: "assistant",
      content: turn.content === "" ? null : turn.content,
      tool_calls: turn.toolCalls.map((call) => ({
        id: call.id,
        type: "function" as const,
        function: { name: call.name, arguments: call.arguments }
      }))
    }
  }
  if (turn.role !== "user" || turn.images === undefined || turn.images.length === 0) {
    return { role: turn.role, content: turn.content }
  }
  return {
    role: "user",
    content: [
      ...(turn.content === "" ? [] : [{ type: "text" as const, text: turn.content }]),
      ...turn.images.map((url) => ({ type: "image_url" as const, image_url: { url } }))
    ]
  }
}

export const make = (options: LanguageModelOpenAIOptions): LanguageModel["Service"] => {
  const requestTimeout = Duration.fromInputUnsafe(options.requestTimeout ?? Duration.seconds(60))
  const timeoutMs = Duration.toMillis(requestTimeout)
  const maxRetries = Math.max(0, options.maxRetries ?? 2)
  const schedule = retrySchedule(maxRetries)

  const outbound = options.outbound ?? Outbound.make({ privateNetworks: "allow" })

  /** `guard`: a URL an admin supplied, checked by the outbound guard and not quoted. */
  const targetFor = (
    secret: string | undefined,
    baseUrl: string,
    prices: PriceTable,
    guard: Outbound.OutboundClient | undefined
  ): Target => {
    // Servers may echo the key in their messages (OpenAI masks it, others may not).
    const scrub = (text: string) => (secret ? text.split(secret).join("[redacted]") : text)
    const serverWords: ServerWords = guard === undefined ? "quoted" : "withheld"
    return {
      classify: (cause, model) => classify(cause, model, scrub, serverWords),
      endpoint: endpoint(baseUrl, secret || KEYLESS_PLACEHOLDER, guard),
      prices,
      tokenLimitField:
        new URL(baseUrl).hostname === "api.openai.com" ? "max_completion_tokens" : "max_tokens",
      tools: { refused: false }
    }
  }

  // The operator's own setting: not guarded (see the header).
  const envDefault = targetFor(
    options.apiKey === undefined ? undefined : Redacted.value(options.apiKey),
    options.baseUrl?.href ?? OPENAI_API,
    options.prices,
    undefined
  )
  const providers = VersionedCache.make<string, Target>(PROVIDER_CACHE_SIZE)

  /** The env default, or the provider's client: built on first use and again after an edit. */
  const targetOf = (endpoint: ModelEndpoint | undefined): Target =>
    endpoint === undefined
      ? envDefault
      : providers.get(endpoint.providerId, endpoint.version, () =>
          targetFor(
            Redacted.value(endpoint.apiKey),
            endpoint.baseUrl,
            // The provider's prices add to (or correct) the table, as OPENAI_PRICES does.
            new Map([...options.prices, ...Object.entries(endpoint.prices)]),
            outbound
          )
        )

  /** Absent: the env fallback; null: none. */
  const fallbackOf = (request: CompletionRequest): string | undefined =>
    request.fallbackModel === undefined ? options.fallbackModel : (request.fallbackModel ?? undefined)

  /**
   * `run` with the requested model and, when that failed in a way another
   * model may not (an outage, an unknown model), once with the fallback one.
   * auth and quota are not retryable: the fallback would use the same key.
   */
  const withFallback = <A>(request: CompletionRequest, run: (model: string) => Effect.Effect<A, Failed>) => {
    const fallbackModel = fallbackOf(request)
    return run(request.model).pipe(
      Effect.map((value) => ({ value, usedFallback: false })),
      Effect.catch((primary) =>
        fallbackModel !== undefined &&
        fallbackModel !== request.model &&
        (primary.error.isRetryable || primary.modelMissing)
          ? run(fallbackModel).pipe(
              Effect.map((value) => ({ value, usedFallback: true })),
              Effect.mapError((fallback) => combine(primary.error, fallback.error))
            )
          : Effect.fail(primary.error)
      )
    )
  }

  /** One model with its retries; `attempts` counts every try for the caller's span. */
  const withRetries = <A>(
    model: string,
    attempts: { count: number },
    once: (model: string, attempt: number) => Effect.Effect<A, Failed>
  ) => {
    let attempt = 0
    return Effect.suspend(() => {
      attempt += 1
      attempts.count += 1
      return once(model, attempt)
    }).pipe(Effect.retry(schedule))
  }

  /**
   * One request to the server, its failure classified for the retry and
   * fallback rules. A refusal of the tools it offered is remembered on the
   * target here, where the server's own words are still at hand.
   */
  const send = <A>(
    target: Target,
    model: string,
    request: (signal: AbortSignal) => Promise<A>,
    offersTools = false
  ) =>
    Effect.tryPromise({
      try: request,
      catch: (cause) => {
        if (offersTools && refusesTools(cause)) target.tools.refused = true
        return target.classify(cause, model)
      }
    })

  const offersTools = (target: Target, request: CompletionRequest) =>
    !target.tools.refused && request.tools !== undefined && request.tools.length > 0

  /**
   * `run(request)`; when the server refused the tools it offered, once more
   * without them (the target remembers), the answer marked `toolsRefused`.
   */
  const orWithoutTools = <A, R>(
    target: Target,
    request: CompletionRequest,
    run: (request: CompletionRequest) => Effect.Effect<A, LlmError, R>
  ): Effect.Effect<{ readonly value: A; readonly toolsRefused: boolean }, LlmError, R> => {
    const offered = offersTools(target, request)
    return run(request).pipe(
      Effect.map((value) => ({ value, toolsRefused: false })),
      Effect.catchIf(
        (error) => offered && error.kind === "bad_request" && target.tools.refused,
        () =>
          Effect.andThen(
            Effect.logWarning("the model server refuses tools; answering without them from now on", {
              provider: request.endpoint?.providerId ?? "default",
              model: request.model
            }),
            Effect.map(run({ ...request, tools: undefined, toolChoice: undefined }), (value) => ({
              value,
              toolsRefused: true
            }))
          )
      )
    )
  }

  /** An attempt is a span of its own, with the kind of its failure. */
  const asAttempt = <A>(
    effect: Effect.Effect<A, Failed>,
    model: string,
    attempt: number,
    streamed: boolean
  ) =>
    effect.pipe(
      Effect.tapError((failed) => Effect.annotateCurrentSpan("llm.error_kind", failed.error.kind)),
      Effect.withSpan("LanguageModel.attempt", {
        attributes: streamed
          ? { "llm.model": model, "llm.attempt": attempt, "llm.stream": true }
          : { "llm.model": model, "llm.attempt": attempt }
      })
    )

  const bodyOf = (target: Target, request: CompletionRequest, model: string) => ({
    model,
    messages: request.messages.map(toWire),
    ...tuningOf(target, request),
    ...toolsOf(target, request)
  })

  /** One attempt of a whole answer; an empty one counts as failed, so it is retried like an outage. */
  const attemptOnce = (target: Target, request: CompletionRequest) => (model: string, attempt: number) =>
    asAttempt(
      send(
        target,
        model,
        (signal) =>
          // The timeout covers the whole answer, body included.
          createCompletion(target.endpoint, bodyOf(target, request, model), signal, timeoutMs),
        offersTools(target, request)
      ).pipe(
        Effect.flatMap((response): Effect.Effect<Answer, Failed> => {
          const choice = response.choices[0]
          const answer: Answer = {
            text: choice?.message.content ?? choice?.message.refusal ?? "",
            model: response.model || model,
            requested: model,
            inputTokens: response.usage?.prompt_tokens ?? 0,
            outputTokens: response.usage?.completion_tokens ?? 0,
            finish: choice?.finish_reason ?? null,
            rateLimit: rateLimitOf(response.responseHeaders),
            toolCalls: toolCallsOf(choice?.message)
          }
          const empty = emptyAnswer(answer)
          return empty === undefined
            ? Effect.succeed(answer)
            : Effect.fail({ error: empty, modelMissing: false })
        })
      ),
      model,
      attempt,
      false
    )

  const complete = Effect.fn("LanguageModel.complete")(function* (request: CompletionRequest) {
    const target = targetOf(request.endpoint)
    const attempts = { count: 0 }
    yield* Effect.annotateCurrentSpan({
      "llm.model": request.model,
      "llm.provider": request.endpoint?.providerId ?? "default"
    })
    const { value: answered, toolsRefused } = yield* orWithoutTools(target, request, (request) =>
      withFallback(request, (model) => withRetries(model, attempts, attemptOnce(target, request)))
    ).pipe(Effect.onExit(() => Effect.annotateCurrentSpan("llm.attempt", attempts.count)))
    const priced = completionOf(answered.value, target.prices, answered.usedFallback)
    const completion = toolsRefused ? { ...priced, toolsRefused } : priced
    yield* Effect.annotateCurrentSpan({
      "llm.response_model": completion.model,
      "llm.input_tokens": completion.inputTokens,
      "llm.output_tokens": completion.outputTokens,
      "llm.cost_usd": completion.costUsd,
      "llm.fallback_used": completion.usedFallback
    })
    return completion
  })

  /** Opens one streamed request; it counts as an attempt until the response headers arrive. */
  const openOnce = (target: Target, request: CompletionRequest) => (model: string, attempt: number) =>
    asAttempt(
      send(
        target,
        model,
        (signal) =>
          openCompletionStream(
            target.endpoint,
            {
              ...bodyOf(target, request, model),
              stream: true,
              // The last chunk then carries the token counts.
              stream_options: { include_usage: true }
            },
            signal,
            timeoutMs
          ),
        offersTools(target, request)
      ),
      model,
      attempt,
      true
    ).pipe(Effect.map((chunks) => ({ chunks, model })))

  const stream = (request: CompletionRequest): Stream.Stream<CompletionEvent, LlmError> =>
    Stream.unwrap(
      Effect.gen(function* () {
        const target = targetOf(request.endpoint)
        const { value: opened, toolsRefused } = yield* orWithoutTools(target, request, (request) =>
          withFallback(request, (model) => withRetries(model, { count: 0 }, openOnce(target, request)))
        )
        const { chunks, model } = opened.value
        /** Tool calls arrive in pieces: the first of each index names it, the rest add to its arguments. */
        const calls: Array<{ id: string; name: string; arguments: string }> = []
        const answer = {
          text: "",
          model,
          requested: model,
          inputTokens: 0,
          outputTokens: 0,
          finish: null as string | null,
          rateLimit: rateLimitOf(chunks.responseHeaders),
          toolCalls: calls as ReadonlyArray<ToolCall>
        }
        // No chunk for a whole request timeout: the server stalled mid-answer, and the request
        // is aborted. One timer per answer, pushed back by each chunk: a timeout per chunk
        // (a fiber and a timer each) cost more than the rest of the streamed request.
        const stall = { timedOut: false, timer: undefined as ReturnType<typeof setTimeout> | undefined }
        const watch = Effect.sync(() => {
          stall.timer = setTimeout(() => {
            stall.timedOut = true
            chunks.abort()
          }, timeoutMs)
        })
        const unwatch = Effect.sync(() => clearTimeout(stall.timer))
        const finished = Effect.suspend((): Effect.Effect<CompletionEvent, LlmError> => {
          // An aborted stream just ends: say why.
          if (stall.timedOut)
            return Effect.fail(target.classify(new APIConnectionTimeoutError(), model).error)
          const empty = emptyAnswer(answer)
          if (empty !== undefined) return Effect.fail(empty)
          const completion = completionOf(answer, target.prices, opened.usedFallback)
          return Effect.succeed({
            _tag: "Finished",
            completion: toolsRefused ? { ...completion, toolsRefused } : completion
          })
        })
        return Stream.fromAsyncIterable(
          chunks,
          (cause) => target.classify(stall.timedOut ? new APIConnectionTimeoutError() : cause, model).error
        ).pipe(
          Stream.onStart(watch),
          Stream.ensuring(unwatch),
          Stream.map((batch): ReadonlyArray<CompletionEvent> => {
            stall.timer?.refresh()
            const events: Array<CompletionEvent> = []
            for (const chunk of batch) {
              if (chunk.model) answer.model = chunk.model
              if (chunk.usage) {
                answer.inputTokens = chunk.usage.prompt_tokens
                answer.outputTokens = chunk.usage.completion_tokens
              }
              const choice = chunk.choices[0]
              if (choice?.finish_reason) answer.finish = choice.finish_reason
              for (const piece of choice?.delta.tool_calls ?? []) {
                if (calls[piece.index] === undefined) calls[piece.index] = { id: "", name: "", arguments: "" }
                const call = calls[piece.index]!
                if (piece.id) call.id = piece.id
                if (piece.function?.name) call.name += piece.function.name
                if (piece.function?.arguments) call.arguments += piece.function.arguments
              }
              const text = choice?.delta.content ?? choice?.delta.refusal ?? ""
              if (text === "") continue
              answer.text += text
              events.push({ _tag: "TextDelta", text })
            }
            return events
          }),
          Stream.flattenIterable,
          Stream.concat(Stream.fromEffect(finished))
        )
      })
    )

  return LanguageModel.of({ complete, stream })
}

export const layer = (options: LanguageModelOpenAIOptions): Layer.Layer<LanguageModel> =>
  Layer.sync(LanguageModel, () => make(options))
