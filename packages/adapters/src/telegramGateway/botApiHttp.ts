/**
 * A Bot API call as a JSON POST over node:http(s), every bot sharing one pool
 * of kept-alive sockets. Every call we make is JSON but the one upload (a
 * voice answer, multipart/form-data, `upload`), and
 * telegraf's callApi (node-fetch, one client per bot) cost about 0.7 ms of CPU
 * per sendMessage against the bench's fake Telegram, this about 0.3 ms
 * (`npm run bench -- parts`). A polling bot's held getUpdates goes through
 * longPollHttp.ts instead. Methods and answers keep telegraf's Bot API types (types only:
 * loading telegraf costs about 20 MB per thread).
 */
import http from "node:http"
import https from "node:https"
import type { Opts, Telegram } from "telegraf/types"

/** The Bot API's answer: `ok` with a result, or an error code with a description. */
interface Answer {
  readonly ok: boolean
  readonly result?: unknown
  readonly error_code?: number
  readonly description?: string
  readonly parameters?: { readonly retry_after?: number }
}

/** The API said no (or answered without its JSON): its error code, description and parameters. */
export class BotApiError extends Error {
  readonly method: string
  readonly code: number
  readonly description: string
  readonly parameters: Answer["parameters"]
  constructor(method: string, code: number, description: string, parameters: Answer["parameters"]) {
    super(`${code}: ${description}`)
    this.method = method
    this.code = code
    this.description = description
    this.parameters = parameters
  }
}

export interface UploadFile {
  /** The form field, e.g. `voice`. */
  readonly field: string
  readonly fileName: string
  readonly contentType: string
  readonly bytes: Uint8Array
}

/** A field name or file name as a header parameter: quotes and line breaks could forge headers. */
const headerSafe = (text: string) => text.replace(/["\r\n\\]/g, "_")

/** The multipart body: our own field names and values, the file last. */
const multipart = (fields: Readonly<Record<string, string>>, file: UploadFile, boundary: string) => {
  const parts: Array<Buffer> = []
  for (const [name, value] of Object.entries(fields)) {
    parts.push(
      Buffer.from(
        `--${boundary}\r\ncontent-disposition: form-data; name="${headerSafe(name)}"\r\n\r\n${value}\r\n`
      )
    )
  }
  parts.push(
    Buffer.from(
      `--${boundary}\r\ncontent-disposition: form-data; name="${headerSafe(file.field)}"; filename="${headerSafe(file.fileName)}"\r\ncontent-type: ${file.contentType}\r\n\r\n`
    ),
    Buffer.from(file.bytes.buffer, file.bytes.byteOffset, file.bytes.byteLength),
    Buffer.from(`\r\n--${boundary}--\r\n`)
  )
  return Buffer.concat(parts)
}

/** Methods as telegraf types them. */
type Method = keyof Telegram

export interface BotApi {
  readonly call: <M extends Method>(
    token: string,
    method: M,
    payload: Opts<M>,
    signal: AbortSignal
  ) => Promise<ReturnType<Telegram[M]>>
  /** One file with plain fields, as multipart/form-data (`sendVoice`, `sendAudio`). */
  readonly upload: (
    token: string,
    method: string,
    fields: Readonly<Record<string, string>>,
    file: UploadFile,
    signal: AbortSignal
  ) => Promise<unknown>
  /** For methods newer than telegraf's types. */
  readonly callUntyped: (
    token: string,
    method: string,
    payload: object,
    signal: AbortSignal
  ) => Promise<unknown>
}

/** `apiRoot` ends with a slash. */
export const make = (apiRoot: string): BotApi => {
  const root = new URL(apiRoot)
  const secure = root.protocol === "https:"
  const transport = secure ? https : http
  // Every bot's calls share one pool of kept-alive sockets whose warm sockets every reply
  // can reuse. Long polls have their own client (longPollHttp.ts): on an agent, 10,000 held
  // polls cost ~8 KB each and a scan of the host's socket array whenever one came back.
  const shared = secure
    ? new https.Agent({ keepAlive: true, maxSockets: Number.POSITIVE_INFINITY })
    : new http.Agent({ keepAlive: true, maxSockets: Number.POSITIVE_INFINITY })

  const post = (
    token: string,
    method: string,
    body: string | Buffer,
    contentType: string,
    signal: AbortSignal
  ) =>
    new Promise<unknown>((resolve, reject) => {
      const request = transport.request(new URL(`./bot${token}/${method}`, root), {
        method: "POST",
        agent: shared,
        signal,
        headers: { "content-type": contentType, "content-length": Buffer.byteLength(body) }
      })
      request.on("error", reject)
      request.on("response", (response) => {
        let text = ""
        response.setEncoding("utf8")
        response.on("data", (chunk: string) => {
          text += chunk
        })
        response.on("error", reject)
        // Closed before its end (cut off, or aborted on a timeout): a settled promise ignores this.
        response.on("close", () => reject(new Error(`${method}: the answer was cut off`)))
        response.on("end", () => {
          const status = response.statusCode ?? 0
          let answer: Answer | undefined
          try {
            answer = JSON.parse(text) as Answer
          } catch {
            answer = undefined
          }
          if (answer?.ok === true) return resolve(answer.result)
          // An answer without the API's JSON is an error with the HTTP status.
          reject(
            answer !== undefined && typeof answer.error_code === "number"
              ? new BotApiError(method, answer.error_code, answer.description ?? "", answer.parameters)
              : new BotApiError(method, status, response.statusMessage ?? `HTTP ${status}`, undefined)
          )
        })
      })
      request.end(body)
    })

  const callUntyped = (token: string, method: string, payload: object, signal: AbortSignal) =>
    post(token, method, JSON.stringify(payload), "application/json", signal)

  const upload = (
    token: string,
    method: string,
    fields: Readonly<Record<string, string>>,
    file: UploadFile,
    signal: AbortSignal
  ) => {
    const boundary = `botfleet-${Math.random().toString(36).slice(2)}${Date.now().toString(36)}`
    return post(
      token,
      method,
      multipart(fields, file, boundary),
      `multipart/form-data; boundary=${boundary}`,
      signal
    )
  }

  return {
    call: (token, method, payload, signal) => callUntyped(token, method, payload, signal) as never,
    callUntyped,
    upload
  }
}
