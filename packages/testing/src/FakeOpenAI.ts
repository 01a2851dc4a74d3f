/**
 * A local OpenAI-compatible server for tests and benchmarks: answers
 * `POST /v1/chat/completions` in OpenAI's wire format (and, with
 * `stream: true`, its server-sent events, usage last when
 * `stream_options.include_usage` asks for it), records what it was
 * asked, and fails on request (HTTP errors, hangs, connection resets) so the
 * real adapter can be tested end to end. `GET /v1/models` answers too (how
 * providers are checked); with `apiKey` set, any other key gets
 * OpenAI's 401. Never logs; cheap per request. A reply may ask for tools
 * (`tool_calls`, several at once, streamed as OpenAI does: by index, the
 * arguments in pieces); `setRefuseTools` makes it a server without tools.
 */
import { createServer, type IncomingMessage, type ServerResponse } from "node:http"
import { createRequire } from "node:module"
import { Effect, type Scope } from "effect"
import * as FakeEmbedding from "./FakeEmbedding.ts"
import * as OggOpus from "./OggOpus.ts"

export interface WireToolCall {
  readonly id: string
  readonly name: string
  /** The JSON text of the arguments. */
  readonly arguments: string
}

export interface WireMessage {
  readonly role: string
  readonly content: string
  /** conversations: the `image_url` parts' URLs, when the content had any. */
  readonly images?: ReadonlyArray<string> | undefined
  /** An assistant message's `tool_calls`. */
  readonly toolCalls?: ReadonlyArray<WireToolCall> | undefined
  /** A `tool` message's `tool_call_id`. */
  readonly toolCallId?: string | undefined
}

export interface RecordedRequest {
  readonly model: string
  readonly messages: ReadonlyArray<WireMessage>
  /** Epoch milliseconds when the request arrived. */
  readonly time: number
  /** The bearer token the client sent, so tests can check which key was used. */
  readonly apiKey: string | undefined
  /** Asked for a streamed answer. */
  readonly stream: boolean
  /** providers: the tuning sent, when any. */
  readonly temperature?: number | undefined
  /** `max_tokens` or `max_completion_tokens`, whichever was sent. */
  readonly maxTokens?: number | undefined
  /** The names of the tools offered, in order (empty: none). */
  readonly tools: ReadonlyArray<string>
  readonly toolChoice?: string | undefined
}

export interface ReplyRequest {
  readonly model: string
  readonly messages: ReadonlyArray<WireMessage>
  /** The names of the tools offered (empty: none). */
  readonly tools: ReadonlyArray<string>
  readonly toolChoice?: string | undefined
}

/** A tool call to answer with; `id` defaults to `call_<n>`, object arguments are sent as JSON. */
export interface ReplyToolCall {
  readonly id?: string
  readonly name: string
  readonly arguments?: string | object
}

/** A reply text, or the parts of the answer to control (null content, finish reason, answering model). */
export type Reply =
  | string
  | {
      readonly content: string | null
      readonly finishReason?: string
      /** The model the response names, e.g. a dated snapshot of the requested one. */
      readonly model?: string
      /** The tools the model calls (finish reason "tool_calls" unless given). */
      readonly toolCalls?: ReadonlyArray<ReplyToolCall>
    }

export interface Failure {
  /** An HTTP status, "hang" (never answer: the client times out) or "reset" (destroy the socket). */
  readonly status: number | "hang" | "reset"
  /** OpenAI's error code, e.g. "insufficient_quota" (with 429) or "model_not_found" (with 404). */
  readonly code?: string
  /** The exact JSON body to answer with, instead of OpenAI's default for the status and code. */
  readonly body?: unknown
  /** Seconds, sent as the `retry-after` header. */
  readonly retryAfter?: number
  /** More headers to answer with, e.g. OpenAI's `x-ratelimit-*` on a 429. */
  readonly headers?: Readonly<Record<string, string>>
  /** How many matching requests fail; default 1, `Infinity` for all of them. */
  readonly times?: number
  /** Only requests for this model fail. */
  readonly model?: string
}

export interface FakeOpenAI {
  /** The API root to give the client, ending in `/v1`. */
  readonly baseUrl: URL
  /** Every request received, failed ones included, oldest first. */
  readonly requests: Effect.Effect<ReadonlyArray<RecordedRequest>>
  readonly setReply: (reply: (request: ReplyRequest) => Reply) => Effect.Effect<void>
  /** Delay before every answer (and before every scripted failure). */
  readonly setLatency: (millis: number) => Effect.Effect<void>
  /** Queues a failure; queued failures are used in order, each for its `times` matching requests. */
  readonly failNext: (failure: Failure) => Effect.Effect<void>
  /** Forgets the recorded requests and the queued failures. */
  readonly clear: Effect.Effect<void>
  /** conversations: a streamed answer's pieces come this many ms apart (0: all at once). */
  readonly setStreamPace: (millis: number) => Effect.Effect<void>
  /**
   * A streamed answer takes this long from its first event to its last,
   * spread evenly (a slow model that writes as it goes); 0: `setStreamPace`.
   */
  readonly setStreamDuration: (millis: number) => Effect.Effect<void>
  /**
   * Allows this many chat completions a minute (a token bucket as deep as the
   * limit), answering the rest 429 with `retry-after`; every answer carries
   * OpenAI's `x-ratelimit-*-requests` headers. null: no limit (the default).
   */
  readonly setRateLimit: (requestsPerMinute: number | null) => Effect.Effect<void>
  /**
   * A model with a small context: chat completions whose messages come to
   * more than `tokens` (o200k_base, as gpt-4o counts them) are refused with
   * OpenAI's 400 `context_length_exceeded`. null: no limit (the default).
   */
  readonly setContextWindow: (tokens: number | null) => Effect.Effect<void>
  /** Chat completions refused as too long, since the window was set. */
  readonly contextRefusals: Effect.Effect<number>
  /** Chat completions answered and refused by the rate limit, since it was set. */
  readonly rateLimitCounts: Effect.Effect<{ readonly answered: number; readonly refused: number }>
  /** The most chat completions being answered at once (request in, until the answer is written). */
  readonly peakInFlight: Effect.Effect<number>
  /** Chat completions being answered now (request in, answer not yet written). */
  readonly inFlight: Effect.Effect<number>
  /** `POST /v1/audio/transcriptions` received, oldest first. */
  readonly transcriptions: Effect.Effect<ReadonlyArray<TranscriptionRequest>>
  /** Knowledge bases: every text sent to `POST /v1/embeddings`, oldest first. */
  readonly embeddingInputs: Effect.Effect<ReadonlyArray<string>>
  /** generate_image: every `POST /v1/images/generations` received (failed ones included), oldest first. */
  readonly imageRequests: Effect.Effect<ReadonlyArray<ImageGenerationRequest>>
  /**
   * How images come back: inline (`b64_json`, as gpt-image models answer) or
   * as a `url` on this server (as DALL·E may), FAKE_IMAGE either way.
   */
  readonly setImageAnswer: (kind: "b64_json" | "url") => Effect.Effect<void>
  /** What a recording "says"; default: the uploaded bytes read as UTF-8. */
  readonly setTranscript: (transcript: (request: TranscriptionRequest) => string) => Effect.Effect<void>
  /** The next `times` transcription requests answer with this status (5xx, 400...). */
  readonly failNextTranscription: (status: number, times?: number) => Effect.Effect<void>
  /** `POST /v1/audio/speech` received, oldest first; each is answered with a real Ogg Opus file. */
  readonly speeches: Effect.Effect<ReadonlyArray<SpeechRequest>>
  /** The next `times` speech requests fail with `status`. */
  readonly failNextSpeech: (status: number, times?: number) => Effect.Effect<void>
  /** A server without tool calling: a request offering tools gets a 400 saying so. */
  readonly setRefuseTools: (refuse: boolean) => Effect.Effect<void>
}

/** generate_image: one request to `/v1/images/generations`. */
export interface ImageGenerationRequest {
  readonly model: string
  readonly prompt: string
  readonly size: string | null
  readonly quality: string | null
  readonly apiKey: string | undefined
}

/** The image the fake draws: the 8-byte PNG signature and a few bytes, enough to be told apart. */
export const FAKE_IMAGE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 1, 2, 3, 4])

/** conversations: one multipart upload to `/v1/audio/transcriptions`. */
export interface TranscriptionRequest {
  readonly model: string
  readonly fileName: string
  readonly audio: Buffer
  readonly time: number
}

/** voice answers: one `/v1/audio/speech` request. */
export interface SpeechRequest {
  readonly model: string
  readonly voice: string
  readonly input: string
  readonly responseFormat: string | null
  readonly apiKey: string | undefined
  readonly time: number
}

/** What `/v1/audio/speech` answers: one second of Opus silence in Ogg, as OpenAI's "opus" format is. */
export const SPEECH_AUDIO: Uint8Array = OggOpus.silentOggOpus(50)

/** The fields of a multipart/form-data body: enough of the format for the SDK's uploads. */
const parseMultipart = (body: Buffer, boundary: string) => {
  const fields = new Map<string, { readonly fileName: string | null; readonly value: Buffer }>()
  const delimiter = Buffer.from(`--${boundary}`)
  let start = body.indexOf(delimiter)
  while (start !== -1) {
    const next = body.indexOf(delimiter, start + delimiter.length)
    if (next === -1) break
    const part = body.subarray(start + delimiter.length + 2, next - 2)
    const headerEnd = part.indexOf("\r\n\r\n")
    const headers = part.subarray(0, headerEnd).toString("utf8")
    const name = /name="([^"]*)"/.exec(headers)?.[1]
    const fileName = /filename="([^"]*)"/.exec(headers)?.[1] ?? null
    if (name !== undefined) fields.set(name, { fileName, value: part.subarray(headerEnd + 4) })
    start = next
  }
  return fields
}

export interface FakeOpenAIOptions {
  readonly reply?: (request: ReplyRequest) => Reply
  readonly latencyMillis?: number
  /** Keep a record of every request (default true); benchmarks may turn it off. */
  readonly record?: boolean
  /** providers: the only key accepted; unset: any key (or none). */
  readonly apiKey?: string
}

export const defaultReply = (request: ReplyRequest): Reply => {
  const lastUser = request.messages.findLast((message) => message.role === "user")
  return `reply to: ${lastUser?.content ?? ""}`
}

/** Roughly OpenAI's "4 characters per token" rule of thumb. */
const tokensOf = (chars: number) => Math.ceil(chars / 4)

// As OpenAI counts a chat for gpt-4o: each message's text, 4 for its framing, 3 to prime the answer.
// Loaded on first use: only the tests that set a window pay for the tables.
const chatTokens = (messages: ReadonlyArray<WireMessage>): number => {
  const { countTokens } = createRequire(import.meta.url)("gpt-tokenizer/cjs/encoding/o200k_base") as {
    countTokens: (text: string, options: { disallowedSpecial: Set<string> }) => number
  }
  return messages.reduce((sum, message) => sum + countTokens(message.content, AS_TEXT) + 4, 3)
}
const AS_TEXT = { disallowedSpecial: new Set<string>() }

const errorBody = (message: string, type: string, code: string | null) => ({
  error: { message, type, param: null, code }
})

// OpenAI's bodies for each case. The 401 echoes the whole key (OpenAI masks
// it) so tests can prove the adapter never repeats what a server sends back.
const defaultErrorBody = (
  status: number,
  code: string | undefined,
  model: string,
  apiKey: string | undefined
) => {
  if (status === 401) {
    return errorBody(
      `Incorrect API key provided: ${apiKey ?? ""}.`,
      "invalid_request_error",
      "invalid_api_key"
    )
  }
  if (status === 429 && code === "insufficient_quota") {
    return errorBody(
      "You exceeded your current quota, please check your plan and billing details.",
      "insufficient_quota",
      "insufficient_quota"
    )
  }
  if (status === 429) {
    return errorBody(
      `Rate limit reached for ${model}. Please try again later.`,
      "requests",
      code ?? "rate_limit_exceeded"
    )
  }
  if (status === 404 || code === "model_not_found") {
    return errorBody(
      `The model \`${model}\` does not exist or you do not have access to it.`,
      "invalid_request_error",
      code ?? "model_not_found"
    )
  }
  if (status >= 500) {
    return errorBody(
      "The server had an error while processing your request. Sorry about that!",
      "server_error",
      code ?? null
    )
  }
  return errorBody(`Request failed with status ${status}.`, "invalid_request_error", code ?? null)
}

const textOf = (content: unknown): string => {
  if (typeof content === "string") return content
  // Content parts: [{ type: "text", text }]
  if (Array.isArray(content)) {
    return content
      .map((part) => (typeof part === "object" && part !== null && "text" in part ? String(part.text) : ""))
      .join("")
  }
  return ""
}

/** Content parts `[{ type: "image_url", image_url: { url } }]`: their URLs. */
const imagesOf = (content: unknown): Array<string> =>
  Array.isArray(content)
    ? content.flatMap((part) =>
        typeof part === "object" &&
        part !== null &&
        part.type === "image_url" &&
        typeof part.image_url?.url === "string"
          ? [part.image_url.url as string]
          : []
      )
    : []

const wireToolCalls = (message: object): ReadonlyArray<WireToolCall> | undefined => {
  const calls = "tool_calls" in message ? message.tool_calls : undefined
  if (!Array.isArray(calls)) return undefined
  return calls.map((call: { id?: unknown; function?: { name?: unknown; arguments?: unknown } }) => ({
    id: String(call.id ?? ""),
    name: String(call.function?.name ?? ""),
    arguments: String(call.function?.arguments ?? "")
  }))
}

const toolNames = (json: object): ReadonlyArray<string> => {
  const tools = "tools" in json ? json.tools : undefined
  return Array.isArray(tools)
    ? tools.map((tool: { function?: { name?: unknown } }) => String(tool.function?.name ?? ""))
    : []
}

interface ParsedRequest extends ReplyRequest {
  readonly stream: boolean
  readonly includeUsage: boolean
  readonly temperature: number | undefined
  readonly maxTokens: number | undefined
}

const numberField = (json: object, name: string): number | undefined => {
  const value = (json as Record<string, unknown>)[name]
  return typeof value === "number" ? value : undefined
}

const parseRequest = (body: string): ParsedRequest | string => {
  let json: unknown
  try {
    json = JSON.parse(body)
  } catch {
    return "We could not parse the JSON body of your request."
  }
  if (typeof json !== "object" || json === null) return "The request body must be a JSON object."
  const model = "model" in json ? json.model : undefined
  const messages = "messages" in json ? json.messages : undefined
  if (typeof model !== "string" || model === "") return "you must provide a model parameter"
  if (!Array.isArray(messages)) return "Missing required parameter: 'messages'."
  const streamOptions = "stream_options" in json ? json.stream_options : undefined
  const toolChoice =
    "tool_choice" in json && typeof json.tool_choice === "string" ? json.tool_choice : undefined
  return {
    model,
    tools: toolNames(json),
    ...(toolChoice === undefined ? {} : { toolChoice }),
    temperature: numberField(json, "temperature"),
    maxTokens: numberField(json, "max_tokens") ?? numberField(json, "max_completion_tokens"),
    stream: "stream" in json && json.stream === true,
    includeUsage:
      typeof streamOptions === "object" &&
      streamOptions !== null &&
      "include_usage" in streamOptions &&
      streamOptions.include_usage === true,
    messages: messages.map((message: unknown) => {
      const content =
        typeof message === "object" && message !== null && "content" in message ? message.content : ""
      const images = imagesOf(content)
      const toolCalls = typeof message === "object" && message !== null ? wireToolCalls(message) : undefined
      const toolCallId =
        typeof message === "object" && message !== null && "tool_call_id" in message
          ? String(message.tool_call_id)
          : undefined
      return {
        role:
          typeof message === "object" && message !== null && "role" in message ? String(message.role) : "",
        content: textOf(content),
        ...(images.length === 0 ? {} : { images }),
        ...(toolCalls === undefined ? {} : { toolCalls }),
        ...(toolCallId === undefined ? {} : { toolCallId })
      }
    })
  }
}

/**
 * A streamed answer as OpenAI sends it: `data: <chunk>` events, the role
 * first, the content a few words at a time, then the finish reason, then (if
 * asked) a chunk with no choices and the usage, then `data: [DONE]`.
 */
const streamAnswer = (
  response: ServerResponse,
  answer: {
    readonly id: string
    readonly model: string
    readonly content: string | null
    readonly finishReason: string
    readonly usage: Readonly<Record<string, number>>
    readonly toolCalls: ReadonlyArray<WireToolCall>
  },
  request: ParsedRequest,
  paceMillis = 0,
  durationMillis = 0,
  headers: Record<string, string> = {}
) => {
  response.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache", ...headers })
  const created = Math.floor(Date.now() / 1000)
  const chunk = (choices: ReadonlyArray<unknown>, usage: unknown = null) =>
    `data: ${JSON.stringify({ id: answer.id, object: "chat.completion.chunk", created, model: answer.model, choices, usage })}\n\n`
  const delta = (fields: Record<string, unknown>, finishReason: string | null = null) =>
    chunk([{ index: 0, delta: fields, logprobs: null, finish_reason: finishReason }])
  const events = [delta({ role: "assistant", content: "" })]
  for (const piece of (answer.content ?? "").match(/\s*\S+(?:\s+\S+){0,2}|\s+$/g) ?? []) {
    events.push(delta({ content: piece }))
  }
  // Each call by its index: id and name first, then the arguments in two pieces.
  answer.toolCalls.forEach((call, index) => {
    const half = Math.ceil(call.arguments.length / 2)
    events.push(
      delta({
        tool_calls: [{ index, id: call.id, type: "function", function: { name: call.name, arguments: "" } }]
      }),
      delta({ tool_calls: [{ index, function: { arguments: call.arguments.slice(0, half) } }] }),
      delta({ tool_calls: [{ index, function: { arguments: call.arguments.slice(half) } }] })
    )
  })
  events.push(delta({}, answer.finishReason))
  if (request.includeUsage) events.push(chunk([], answer.usage))
  events.push("data: [DONE]\n\n")
  if (durationMillis > 0) paceMillis = durationMillis / Math.max(1, events.length - 1)
  if (paceMillis <= 0) return response.end(events.join(""))
  // Paced: one event at a time, as a model that writes slowly.
  const next = (index: number) => {
    if (response.destroyed) return
    if (index === events.length - 1) return response.end(events[index])
    response.write(events[index])
    setTimeout(() => next(index + 1), paceMillis)
  }
  next(0)
}

const sendJson = (
  response: ServerResponse,
  status: number,
  body: unknown,
  headers?: Record<string, string>
) => {
  const text = JSON.stringify(body)
  response.writeHead(status, {
    "content-type": "application/json",
    "content-length": Buffer.byteLength(text),
    ...headers
  })
  response.end(text)
}

interface QueuedFailure {
  readonly failure: Failure
  remaining: number
}

export const make = (options: FakeOpenAIOptions = {}): Effect.Effect<FakeOpenAI, never, Scope.Scope> =>
  Effect.gen(function* () {
    const record = options.record ?? true
    let reply = options.reply ?? defaultReply
    let latency = options.latencyMillis ?? 0
    let streamPace = 0
    let streamDuration = 0
    let rateLimit: { perMinute: number; tokens: number; at: number } | null = null
    let contextWindow: number | null = null
    let contextRefusals = 0
    const rateCounts = { answered: 0, refused: 0 }
    const load = { inFlight: 0, peak: 0 }
    /** The limit's headers after this request; a refusal's retry-after when it is over. */
    const takeRateLimit = (): { headers: Record<string, string>; retryAfter: number | null } => {
      if (rateLimit === null) return { headers: {}, retryAfter: null }
      const now = Date.now()
      const perMs = rateLimit.perMinute / 60_000
      rateLimit.tokens = Math.min(rateLimit.perMinute, rateLimit.tokens + (now - rateLimit.at) * perMs)
      rateLimit.at = now
      const refused = rateLimit.tokens < 1
      if (!refused) rateLimit.tokens -= 1
      const headers = {
        "x-ratelimit-limit-requests": String(rateLimit.perMinute),
        "x-ratelimit-remaining-requests": String(Math.floor(rateLimit.tokens)),
        "x-ratelimit-reset-requests": `${Math.ceil((rateLimit.perMinute - rateLimit.tokens) / perMs)}ms`
      }
      if (refused) rateCounts.refused += 1
      else rateCounts.answered += 1
      return { headers, retryAfter: refused ? Math.ceil((1 - rateLimit.tokens) / perMs / 1000) : null }
    }
    const transcriptions: Array<TranscriptionRequest> = []
    const embeddingInputs: Array<string> = []
    const imageRequests: Array<ImageGenerationRequest> = []
    let imageAnswer: "b64_json" | "url" = "b64_json"
    let origin = ""
    let transcript = (request: TranscriptionRequest) => request.audio.toString("utf8")
    const transcriptionFailures: Array<number> = []
    const speeches: Array<SpeechRequest> = []
    const speechFailures: Array<number> = []
    let requests: Array<RecordedRequest> = []
    let failures: Array<QueuedFailure> = []
    let nextId = 0
    let nextCallId = 0
    let refuseTools = false

    const takeFailure = (model: string): Failure | undefined => {
      const queued = failures.find(
        (entry) => entry.remaining > 0 && (entry.failure.model === undefined || entry.failure.model === model)
      )
      if (queued === undefined) return undefined
      queued.remaining -= 1
      if (queued.remaining <= 0) failures = failures.filter((entry) => entry !== queued)
      return queued.failure
    }

    const answer = (
      request: IncomingMessage,
      response: ServerResponse,
      parsed: ParsedRequest,
      apiKey: string | undefined
    ) => {
      const failure = takeFailure(parsed.model)
      if (failure?.status === "hang") return
      if (failure?.status === "reset") {
        request.socket.destroy()
        return
      }
      if (failure !== undefined) {
        sendJson(
          response,
          failure.status,
          failure.body ?? defaultErrorBody(failure.status, failure.code, parsed.model, apiKey),
          {
            ...failure.headers,
            ...(failure.retryAfter === undefined ? {} : { "retry-after": String(failure.retryAfter) })
          }
        )
        return
      }
      const asked = contextWindow === null ? 0 : chatTokens(parsed.messages)
      if (contextWindow !== null && asked > contextWindow) {
        contextRefusals += 1
        sendJson(
          response,
          400,
          {
            error: {
              message: `This model's maximum context length is ${contextWindow} tokens. However, your messages resulted in ${asked} tokens. Please reduce the length of the messages.`,
              type: "invalid_request_error",
              param: "messages",
              code: "context_length_exceeded"
            }
          },
          undefined
        )
        return
      }
      if (refuseTools && parsed.tools.length > 0) {
        sendJson(
          response,
          400,
          errorBody(`${parsed.model} does not support tools`, "invalid_request_error", null)
        )
        return
      }
      const limited = takeRateLimit()
      if (limited.retryAfter !== null) {
        sendJson(response, 429, defaultErrorBody(429, undefined, parsed.model, apiKey), {
          ...limited.headers,
          "retry-after": String(limited.retryAfter)
        })
        return
      }
      const given = reply(parsed)
      const content = typeof given === "string" ? given : given.content
      const finishReason = typeof given === "string" ? "stop" : (given.finishReason ?? "stop")
      const model = typeof given === "string" ? parsed.model : (given.model ?? parsed.model)
      const toolCalls: ReadonlyArray<WireToolCall> =
        typeof given === "string"
          ? []
          : (given.toolCalls ?? []).map((call) => {
              nextCallId += 1
              return {
                id: call.id ?? `call_${nextCallId}`,
                name: call.name,
                arguments:
                  typeof call.arguments === "string" ? call.arguments : JSON.stringify(call.arguments ?? {})
              }
            })
      const finish =
        typeof given !== "string" && given.finishReason === undefined && toolCalls.length > 0
          ? "tool_calls"
          : finishReason
      let promptChars = 0
      for (const message of parsed.messages) {
        promptChars += message.content.length
        for (const call of message.toolCalls ?? []) promptChars += call.name.length + call.arguments.length
      }
      const promptTokens = tokensOf(promptChars)
      const completionTokens = tokensOf(content?.length ?? 0)
      nextId += 1
      const usage = {
        prompt_tokens: promptTokens,
        completion_tokens: completionTokens,
        total_tokens: promptTokens + completionTokens
      }
      if (parsed.stream) {
        streamAnswer(
          response,
          { id: `chatcmpl-fake${nextId}`, model, content, finishReason: finish, usage, toolCalls },
          parsed,
          streamPace,
          streamDuration,
          limited.headers
        )
        return
      }
      sendJson(
        response,
        200,
        {
          id: `chatcmpl-fake${nextId}`,
          object: "chat.completion",
          created: Math.floor(Date.now() / 1000),
          model,
          choices: [
            {
              index: 0,
              message: {
                role: "assistant",
                content,
                refusal: null,
                ...(toolCalls.length === 0
                  ? {}
                  : {
                      tool_calls: toolCalls.map((call) => ({
                        id: call.id,
                        type: "function",
                        function: { name: call.name, arguments: call.arguments }
                      }))
                    })
              },
              logprobs: null,
              finish_reason: finish
            }
          ],
          usage
        },
        limited.headers
      )
    }

    const transcribe = (request: IncomingMessage, response: ServerResponse) => {
      const chunks: Array<Buffer> = []
      request.on("data", (chunk: Buffer) => chunks.push(chunk))
      request.on("end", () => {
        const boundary = /boundary=(?:"([^"]+)"|([^;]+))/.exec(request.headers["content-type"] ?? "")
        const fields = parseMultipart(Buffer.concat(chunks), boundary?.[1] ?? boundary?.[2] ?? "")
        const file = fields.get("file")
        const model = fields.get("model")?.value.toString("utf8") ?? ""
        if (file === undefined || model === "") {
          sendJson(response, 400, errorBody("file and model are required", "invalid_request_error", null))
          return
        }
        const received = { model, fileName: file.fileName ?? "", audio: file.value, time: Date.now() }
        transcriptions.push(received)
        const status = transcriptionFailures.shift()
        if (status !== undefined) {
          sendJson(response, status, errorBody(`scripted ${status}`, "server_error", null))
          return
        }
        sendJson(response, 200, { text: transcript(received) })
      })
    }

    const speak = (request: IncomingMessage, response: ServerResponse) => {
      const chunks: Array<Buffer> = []
      request.on("data", (chunk: Buffer) => chunks.push(chunk))
      request.on("end", () => {
        let body: Record<string, unknown>
        try {
          body = JSON.parse(Buffer.concat(chunks).toString("utf8")) as Record<string, unknown>
        } catch {
          sendJson(response, 400, errorBody("the body is not JSON", "invalid_request_error", null))
          return
        }
        const text = (key: string) => (typeof body[key] === "string" ? (body[key] as string) : "")
        if (text("model") === "" || text("voice") === "" || text("input") === "") {
          sendJson(
            response,
            400,
            errorBody("model, voice and input are required", "invalid_request_error", null)
          )
          return
        }
        if (text("input").length > 4096) {
          sendJson(
            response,
            400,
            errorBody("input is longer than 4096 characters", "invalid_request_error", null)
          )
          return
        }
        speeches.push({
          model: text("model"),
          voice: text("voice"),
          input: text("input"),
          responseFormat: text("response_format") || null,
          apiKey: bearerOf(request),
          time: Date.now()
        })
        const status = speechFailures.shift()
        if (status !== undefined) {
          sendJson(response, status, errorBody(`scripted ${status}`, "server_error", null))
          return
        }
        response.writeHead(200, { "content-type": "audio/ogg", "content-length": SPEECH_AUDIO.length })
        response.end(SPEECH_AUDIO)
      })
    }

    const bearerOf = (request: IncomingMessage) => {
      const authorization = request.headers.authorization
      return authorization?.startsWith("Bearer ") ? authorization.slice("Bearer ".length) : undefined
    }
    const refusedKey = (apiKey: string | undefined) =>
      options.apiKey !== undefined && apiKey !== options.apiKey

    /** providers: the model list, behind the key check and the scripted failures. */
    const listModels = (request: IncomingMessage, response: ServerResponse) => {
      const apiKey = bearerOf(request)
      const respond = () => {
        const failure = refusedKey(apiKey) ? { status: 401 } : takeFailure("")
        if (failure?.status === "hang") return
        if (failure?.status === "reset") return request.socket.destroy()
        if (failure !== undefined) {
          return sendJson(response, failure.status, defaultErrorBody(failure.status, undefined, "", apiKey))
        }
        sendJson(response, 200, {
          object: "list",
          data: [{ id: "fake-model", object: "model", created: 0, owned_by: "botfleet-tests" }]
        })
      }
      if (latency > 0) setTimeout(respond, latency)
      else respond()
    }

    /** Knowledge bases: deterministic vectors (fakeEmbedding), behind the key check and the scripted failures. */
    const embed = (request: IncomingMessage, response: ServerResponse) => {
      const chunks: Array<Buffer> = []
      request.on("data", (chunk: Buffer) => chunks.push(chunk))
      request.on("end", () => {
        const apiKey = bearerOf(request)
        let body: { model?: unknown; input?: unknown; dimensions?: unknown }
        try {
          body = JSON.parse(Buffer.concat(chunks).toString("utf8")) as typeof body
        } catch {
          return sendJson(
            response,
            400,
            errorBody("We could not parse the JSON body.", "invalid_request_error", null)
          )
        }
        const model = typeof body.model === "string" ? body.model : ""
        const failure = refusedKey(apiKey) ? { status: 401 as const } : takeFailure(model)
        if (failure?.status === "hang") return
        if (failure?.status === "reset") return request.socket.destroy()
        if (failure !== undefined)
          return sendJson(
            response,
            failure.status,
            defaultErrorBody(failure.status, undefined, model, apiKey)
          )
        const inputs = Array.isArray(body.input) ? body.input.map(String) : [String(body.input ?? "")]
        const dimensions =
          typeof body.dimensions === "number" ? body.dimensions : FakeEmbedding.DEFAULT_DIMENSIONS
        embeddingInputs.push(...inputs)
        sendJson(response, 200, {
          object: "list",
          model,
          data: inputs.map((input, index) => ({
            object: "embedding",
            index,
            embedding: FakeEmbedding.fakeEmbedding(input, dimensions)
          })),
          usage: {
            prompt_tokens: inputs.reduce((sum, input) => sum + FakeEmbedding.words(input).length, 0),
            total_tokens: inputs.reduce((sum, input) => sum + FakeEmbedding.words(input).length, 0)
          }
        })
      })
    }

    /** generate_image: behind the key check and the scripted failures (matched on the image model). */
    const drawImage = (request: IncomingMessage, response: ServerResponse) => {
      const chunks: Array<Buffer> = []
      request.on("data", (chunk: Buffer) => chunks.push(chunk))
      request.on("end", () => {
        const apiKey = bearerOf(request)
        let body: { model?: unknown; prompt?: unknown; size?: unknown; quality?: unknown }
        try {
          body = JSON.parse(Buffer.concat(chunks).toString("utf8")) as typeof body
        } catch {
          return sendJson(
            response,
            400,
            errorBody("We could not parse the JSON body.", "invalid_request_error", null)
          )
        }
        const model = typeof body.model === "string" ? body.model : ""
        imageRequests.push({
          model,
          prompt: typeof body.prompt === "string" ? body.prompt : "",
          size: typeof body.size === "string" ? body.size : null,
          quality: typeof body.quality === "string" ? body.quality : null,
          apiKey
        })
        const failure = refusedKey(apiKey) ? { status: 401 as const } : takeFailure(model)
        if (failure?.status === "hang") return
        if (failure?.status === "reset") return request.socket.destroy()
        if (failure !== undefined) {
          return sendJson(
            response,
            failure.status,
            failure.body ?? defaultErrorBody(failure.status, failure.code, model, apiKey)
          )
        }
        sendJson(response, 200, {
          created: Math.floor(Date.now() / 1000),
          data: [
            imageAnswer === "b64_json"
              ? { b64_json: FAKE_IMAGE.toString("base64") }
              : { url: `${origin}/v1/files/fake-image.png` }
          ]
        })
      })
    }

    const handle = (request: IncomingMessage, response: ServerResponse) => {
      if (request.method === "POST" && request.url === "/v1/images/generations") {
        drawImage(request, response)
        return
      }
      if (request.method === "GET" && request.url === "/v1/files/fake-image.png") {
        response.writeHead(200, { "content-type": "image/png", "content-length": FAKE_IMAGE.length })
        response.end(FAKE_IMAGE)
        return
      }
      if (request.method === "GET" && request.url === "/v1/models") {
        listModels(request, response)
        return
      }
      if (request.method === "POST" && request.url === "/v1/embeddings") {
        embed(request, response)
        return
      }
      if (request.method === "POST" && request.url === "/v1/audio/transcriptions") {
        transcribe(request, response)
        return
      }
      if (request.method === "POST" && request.url === "/v1/audio/speech") {
        speak(request, response)
        return
      }
      if (request.method !== "POST" || request.url !== "/v1/chat/completions") {
        sendJson(
          response,
          404,
          errorBody(
            `Unknown request URL: ${request.method} ${request.url}.`,
            "invalid_request_error",
            "unknown_url"
          )
        )
        return
      }
      const chunks: Array<Buffer> = []
      request.on("data", (chunk: Buffer) => chunks.push(chunk))
      request.on("end", () => {
        const time = Date.now()
        const parsed = parseRequest(Buffer.concat(chunks).toString("utf8"))
        if (typeof parsed === "string") {
          sendJson(response, 400, errorBody(parsed, "invalid_request_error", null))
          return
        }
        const apiKey = bearerOf(request)
        load.inFlight += 1
        load.peak = Math.max(load.peak, load.inFlight)
        response.once("close", () => {
          load.inFlight -= 1
        })
        if (record)
          requests.push({
            model: parsed.model,
            messages: parsed.messages,
            time,
            apiKey,
            stream: parsed.stream,
            temperature: parsed.temperature,
            maxTokens: parsed.maxTokens,
            tools: parsed.tools,
            ...(parsed.toolChoice === undefined ? {} : { toolChoice: parsed.toolChoice })
          })
        if (refusedKey(apiKey)) {
          sendJson(response, 401, defaultErrorBody(401, undefined, parsed.model, apiKey))
          return
        }
        if (latency > 0) setTimeout(() => answer(request, response, parsed, apiKey), latency)
        else answer(request, response, parsed, apiKey)
      })
    }

    const server = createServer({ keepAliveTimeout: 30_000 }, handle)
    // A socket destroyed on purpose ("reset") or by a client giving up must not crash the test run.
    server.on("clientError", (_error, socket) => socket.destroy())

    const port = yield* Effect.acquireRelease(
      Effect.callback<number>((resume) => {
        server.listen(0, "127.0.0.1", () => {
          const address = server.address()
          resume(Effect.succeed(typeof address === "object" && address !== null ? address.port : 0))
        })
      }),
      () =>
        Effect.callback<void>((resume) => {
          // Hung requests keep their sockets open; close() alone would wait for them.
          server.close(() => resume(Effect.void))
          server.closeAllConnections()
        })
    )

    origin = `http://127.0.0.1:${port}`
    return {
      baseUrl: new URL(`http://127.0.0.1:${port}/v1`),
      imageRequests: Effect.sync(() => imageRequests.slice()),
      setImageAnswer: (kind) =>
        Effect.sync(() => {
          imageAnswer = kind
        }),
      requests: Effect.sync(() => requests.slice()),
      setReply: (next) =>
        Effect.sync(() => {
          reply = next
        }),
      transcriptions: Effect.sync(() => transcriptions.slice()),
      speeches: Effect.sync(() => speeches.slice()),
      failNextSpeech: (status, times = 1) =>
        Effect.sync(() => {
          for (let i = 0; i < times; i++) speechFailures.push(status)
        }),
      embeddingInputs: Effect.sync(() => embeddingInputs.slice()),
      setTranscript: (next) =>
        Effect.sync(() => {
          transcript = next
        }),
      setRefuseTools: (refuse) =>
        Effect.sync(() => {
          refuseTools = refuse
        }),
      failNextTranscription: (status, times = 1) =>
        Effect.sync(() => {
          for (let i = 0; i < times; i++) transcriptionFailures.push(status)
        }),
      setStreamPace: (millis) =>
        Effect.sync(() => {
          streamPace = millis
        }),
      setStreamDuration: (millis) =>
        Effect.sync(() => {
          streamDuration = millis
        }),
      setContextWindow: (tokens) =>
        Effect.sync(() => {
          contextWindow = tokens
          contextRefusals = 0
        }),
      contextRefusals: Effect.sync(() => contextRefusals),
      setRateLimit: (requestsPerMinute) =>
        Effect.sync(() => {
          rateLimit =
            requestsPerMinute === null
              ? null
              : { perMinute: requestsPerMinute, tokens: requestsPerMinute, at: Date.now() }
          rateCounts.answered = 0
          rateCounts.refused = 0
        }),
      rateLimitCounts: Effect.sync(() => ({ ...rateCounts })),
      peakInFlight: Effect.sync(() => load.peak),
      inFlight: Effect.sync(() => load.inFlight),
      setLatency: (millis) =>
        Effect.sync(() => {
          latency = millis
        }),
      failNext: (failure) =>
        Effect.sync(() => {
          failures.push({ failure, remaining: failure.times ?? 1 })
        }),
      clear: Effect.sync(() => {
        requests = []
        failures = []
      })
    } satisfies FakeOpenAI
  })
