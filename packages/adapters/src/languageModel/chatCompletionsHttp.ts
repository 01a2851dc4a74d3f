/**
 * `POST {baseUrl}/chat/completions` over node:http(s) on kept-alive sockets:
 * the one call made for every reply. The `openai` SDK over fetch cost about
 * 1.0–1.3 ms of CPU per call against the bench's fake server, a plain request
 * about 0.3 ms (`bench/parts.ts`), and the LLM call was the largest single
 * cost of a reply. The wire format is the SDK's own types; failures are the
 * SDK's own error classes, so `classify` reads them as before.
 *
 * A provider's endpoint (a URL an admin supplied) goes through the outbound
 * guard: its URL is checked once here, and its agent resolves names with the
 * guard's `lookup`, which runs only when a socket is opened, so a reply on a
 * kept-alive socket costs no more than before.
 */
import http from "node:http"
import https from "node:https"
import type OpenAI from "openai"
import { APIConnectionError, APIConnectionTimeoutError, APIError, APIUserAbortError } from "openai/error"
import type { OutboundClient } from "../outbound/OutboundClient.ts"

export type CompletionBody = OpenAI.Chat.ChatCompletionCreateParamsNonStreaming
export type StreamBody = OpenAI.Chat.ChatCompletionCreateParamsStreaming

/** An error body longer than this is cut: only its status, code and message are read. */
const MAX_ERROR_BODY = 16 * 1024

/** One server with its key; requests share its sockets. */
export interface Endpoint {
  readonly url: URL
  readonly headers: Readonly<Record<string, string>>
  readonly agent: http.Agent
  /** The guard refused the URL: every request fails with this, nothing is sent. */
  readonly refused?: Error | undefined
}

/** `outbound`: the guard for a URL an admin supplied; none for the operator's own OPENAI_BASE_URL. */
/**
 * As many sockets as chats may wait on a slow model at once (PIPELINE_CONCURRENCY): at 256 the
 * agent queued the rest, and a 1.5 s model answered 256 at a time with the CPU half idle.
 */
const SOCKETS_PER_ENDPOINT = 4096

export const endpoint = (baseUrl: string, apiKey: string, outbound?: OutboundClient): Endpoint => {
  const url = new URL(`${baseUrl.replace(/\/+$/, "")}/chat/completions`)
  const secure = url.protocol === "https:"
  const headers = {
    authorization: `Bearer ${apiKey}`,
    "content-type": "application/json",
    accept: "application/json"
  }
  if (outbound !== undefined) {
    let refused: Error | undefined
    try {
      outbound.parseUrl(url)
    } catch (error) {
      refused = error as Error
    }
    return {
      url,
      headers,
      agent: outbound.agent(url.protocol, { maxSockets: SOCKETS_PER_ENDPOINT }),
      refused
    }
  }
  return {
    url,
    headers,
    agent: secure
      ? new https.Agent({ keepAlive: true, maxSockets: SOCKETS_PER_ENDPOINT })
      : new http.Agent({ keepAlive: true, maxSockets: SOCKETS_PER_ENDPOINT })
  }
}

/**
 * Sends the body; resolves with a 2xx response, rejects with the SDK's error
 * for any other status. `headersWithinMs`, if given, runs until the response
 * headers arrive.
 */
const post = (target: Endpoint, body: object, signal: AbortSignal, headersWithinMs?: number) =>
  new Promise<http.IncomingMessage>((resolve, reject) => {
    if (target.refused !== undefined) return reject(new APIConnectionError({ cause: target.refused }))
    const json = JSON.stringify(body)
    const request = (target.url.protocol === "https:" ? https : http).request(target.url, {
      method: "POST",
      agent: target.agent,
      // A length, not chunked: some compatible servers refuse chunked request bodies.
      headers: { ...target.headers, "content-length": Buffer.byteLength(json) }
    })
    const fail = (error: Error) => {
      clearTimeout(timer)
      signal.removeEventListener("abort", onAbort)
      request.destroy()
      reject(error)
    }
    const onAbort = () => fail(new APIUserAbortError())
    const timer =
      headersWithinMs === undefined
        ? undefined
        : setTimeout(() => fail(new APIConnectionTimeoutError()), headersWithinMs)
    if (signal.aborted) return onAbort()
    signal.addEventListener("abort", onAbort, { once: true })
    request.on("error", (cause) => fail(new APIConnectionError({ cause })))
    request.on("response", (response) => {
      clearTimeout(timer)
      signal.removeEventListener("abort", onAbort)
      const status = response.statusCode ?? 0
      if (status >= 200 && status < 300) return resolve(response)
      readText(response, MAX_ERROR_BODY).then(
        (text) => reject(statusError(status, text, response.headers)),
        (cause: Error) => reject(cause instanceof APIError ? cause : new APIConnectionError({ cause }))
      )
    })
    request.end(json)
  })

const readText = (response: http.IncomingMessage, limit = Number.POSITIVE_INFINITY) =>
  new Promise<string>((resolve, reject) => {
    let text = ""
    response.setEncoding("utf8")
    response.on("data", (chunk: string) => {
      if (text.length < limit) text += chunk
    })
    response.on("end", () => resolve(text))
    response.on("error", reject)
    // Closed before its end (cut off, or destroyed on a timeout): a settled promise ignores this.
    response.on("close", () => reject(new APIConnectionError({ message: "the answer was cut off" })))
  })

const parseJson = (text: string): unknown => {
  try {
    return JSON.parse(text)
  } catch {
    return undefined
  }
}

const toHeaders = (incoming: http.IncomingHttpHeaders): Headers => {
  const headers = new Headers()
  for (const [name, value] of Object.entries(incoming)) {
    if (value !== undefined) headers.set(name, Array.isArray(value) ? value.join(", ") : value)
  }
  return headers
}

/** As the SDK builds it: the JSON error body when there is one, the text otherwise. */
const statusError = (status: number, text: string, headers: http.IncomingHttpHeaders) => {
  const json = parseJson(text)
  const body = json !== null && typeof json === "object" && !("error" in json) ? { error: json } : json
  return APIError.generate(
    status,
    body as object | undefined,
    json === undefined ? text : undefined,
    toHeaders(headers)
  )
}

/** One whole answer; `timeoutMs` covers the body too. */
export const createCompletion = async (
  target: Endpoint,
  body: CompletionBody,
  signal: AbortSignal,
  timeoutMs: number
): Promise<OpenAI.Chat.ChatCompletion & { readonly responseHeaders: Headers }> => {
  const controller = new AbortController()
  let timedOut = false
  const timer = setTimeout(() => {
    timedOut = true
    controller.abort()
  }, timeoutMs)
  const abort = () => controller.abort()
  signal.addEventListener("abort", abort, { once: true })
  try {
    // This timer covers the headers too: post needs none of its own.
    const response = await post(target, body, controller.signal)
    controller.signal.addEventListener("abort", () => response.destroy(), { once: true })
    const json = parseJson(await readText(response))
    if (json === undefined) throw new APIConnectionError({ message: "the answer is not JSON" })
    // The headers ride along for the rate-limit pacer (x-ratelimit-*).
    return Object.assign(json as OpenAI.Chat.ChatCompletion, { responseHeaders: toHeaders(response.headers) })
  } catch (error) {
    throw timedOut ? new APIConnectionTimeoutError() : error
  } finally {
    clearTimeout(timer)
    signal.removeEventListener("abort", abort)
  }
}

/**
 * A streamed answer: its chunks, as many at a time as one read off the socket
 * carried (a fast server sends them all at once, so the consumer pays its
 * per-element cost once, not per chunk), and a way to stop (closes the request).
 */
export interface ChunkStream extends AsyncIterable<ReadonlyArray<OpenAI.Chat.ChatCompletionChunk>> {
  readonly abort: () => void
  readonly responseHeaders: Headers
}

/**
 * Opens a streamed answer; resolves once the response headers say it is
 * coming (`timeoutMs` until then). The caller watches for stalls after that.
 */
export const openCompletionStream = async (
  target: Endpoint,
  body: StreamBody,
  signal: AbortSignal,
  timeoutMs: number
): Promise<ChunkStream> => {
  const response = await post(target, body, signal, timeoutMs)
  let aborted = false
  const abort = () => {
    aborted = true
    response.destroy()
  }
  const events = new ServerSentEvents()
  let finished = false
  async function* batches(): AsyncGenerator<ReadonlyArray<OpenAI.Chat.ChatCompletionChunk>> {
    response.setEncoding("utf8")
    try {
      // Not destroyed on break: after [DONE] the socket is kept for the next answer.
      for await (const piece of response.iterator({ destroyOnReturn: false }) as AsyncIterable<string>) {
        const { chunks, done } = events.push(piece)
        if (chunks.length > 0) yield chunks
        if (done) break
      }
      finished = true
    } catch (error) {
      // Stopped on purpose (a stall, or the caller is done): the stream just ends.
      if (aborted) return
      throw error instanceof APIError || error instanceof SyntaxError
        ? error
        : new APIConnectionError({ cause: error as Error })
    } finally {
      // After [DONE] the rest is read off, so the socket goes back to the pool for the next answer.
      if (finished) response.resume()
      else response.destroy()
    }
  }
  const iterable = batches()
  return { abort, responseHeaders: toHeaders(response.headers), [Symbol.asyncIterator]: () => iterable }
}

/** Server-sent events as chat completion chunks, fed text as it arrives. */
class ServerSentEvents {
  private pending = ""
  private data: Array<string> = []
  private event = ""

  push(text: string): { readonly chunks: Array<OpenAI.Chat.ChatCompletionChunk>; readonly done: boolean } {
    this.pending += text
    const chunks: Array<OpenAI.Chat.ChatCompletionChunk> = []
    let newline = this.pending.indexOf("\n")
    while (newline !== -1) {
      const line = this.pending.slice(0, this.pending[newline - 1] === "\r" ? newline - 1 : newline)
      this.pending = this.pending.slice(newline + 1)
      newline = this.pending.indexOf("\n")
      if (line.startsWith("data:")) {
        this.data.push(line.slice(line.startsWith("data: ") ? 6 : 5))
      } else if (line.startsWith("event:")) {
        this.event = line.slice(6).trim()
      } else if (line === "") {
        // A blank line ends an event.
        const payload = this.data.join("\n")
        const name = this.event
        this.data = []
        this.event = ""
        if (payload === "") continue
        if (payload === "[DONE]") return { chunks, done: true }
        const json = parseJson(payload) as (OpenAI.Chat.ChatCompletionChunk & { error?: unknown }) | undefined
        if (json === undefined) throw new SyntaxError("malformed server-sent event JSON")
        if (name === "error" || json.error) {
          throw new APIError(undefined, (json.error ?? json) as object, undefined, undefined)
        }
        chunks.push(json)
      }
    }
    return { chunks, done: false }
  }
}
