/**
 * getUpdates on plain sockets: one kept-alive socket per polling bot, a fixed
 * request written in one piece, and a parser for what a Bot API answer needs
 * (status line, `content-length` or chunked body, `connection: close`).
 *
 * A held long poll through node:http keeps a ClientRequest, an IncomingMessage
 * and an HTTPParser alive for the whole hold, ~8 KB a poll on top of the
 * socket; with 10,000 polling bots that was most of the pipeline thread's heap
 * and a good part of its CPU at rest. Here a held poll is the socket, one small
 * record and its buffers: 10,000 held polls take ~4.7 KB less heap each, ~10-15
 * KB less RSS each and half the CPU per poll (`npm run bench -- poll-clients`).
 *
 * A poll asked to `repeat` answers an empty result with the repeat request on
 * the same socket from inside the data handler: a bot at rest costs one parse and
 * one write per 50 s, with no promise, timer, abort listener or Effect fiber
 * step per round. The deadline of each request is the socket's idle timer
 * (Node keeps one list for every socket with the same delay), not a timer per
 * poll.
 *
 * The host is the configured Bot API root (`TELEGRAM_API_ROOT`), never a URL
 * an admin or a model supplies, so this is not the guarded outbound client;
 * an https root gets TLS with the default certificate checks. Answers mean
 * what they mean in botApiHttp.ts: `ok` resolves with the result, an API
 * error rejects with BotApiError, anything else with a plain Error.
 */
import net from "node:net"
import tls from "node:tls"
import { BotApiError } from "./botApiHttp.ts"

/** node:http's own default limit for a response's head. */
const MAX_HEAD_BYTES = 16 * 1024
/** 100 updates of the largest kind are far below this; more is not a Bot API answer. */
const MAX_BODY_BYTES = 64 * 1024 * 1024
/** A kept-alive socket left unused (its bot stopped polling) is closed after this. */
const IDLE_MILLIS = 30_000

export interface LongPoll {
  /**
   * getUpdates with a JSON body, ended early by `signal`. Each request fails when no
   * byte of its answer came for `answerMillis`. With `repeat`, an empty result is not
   * returned: `repeat.payload` is sent instead, again and again, until updates or a
   * failure come.
   */
  readonly getUpdates: (
    token: string,
    payload: object,
    signal: AbortSignal,
    answerMillis: number,
    repeat: Repeat | null
  ) => Promise<unknown>
  /** Closes every socket (held polls fail as cut off). */
  readonly close: () => void
}

/** What a poll sends after an empty answer, and how long each of those may wait for theirs. */
export interface Repeat {
  readonly payload: object
  readonly answerMillis: number
}

/** What is being read of the answer in progress. */
const Phase = {
  Head: 0,
  /** `content-length` bytes, or everything until the socket ends when neither length nor chunks. */
  Body: 1,
  ChunkSize: 2,
  ChunkData: 3,
  ChunkEnd: 4,
  Trailers: 5
} as const
type Phase = (typeof Phase)[keyof typeof Phase]

/** One bot's socket and the poll it carries, if any. */
interface Connection {
  readonly socket: net.Socket
  readonly token: string
  busy: boolean
  /** The request written after an empty answer, when the poll repeats. */
  again: Buffer | null
  againMillis: number
  /** The deadline of the request in flight, as the socket's idle timer has it. */
  answerMillis: number
  resolve: (value: unknown) => void
  reject: (error: Error) => void
  phase: Phase
  /** Bytes not parsed yet (a head or chunk-size line split across reads). */
  pending: Buffer | null
  status: number
  statusText: string
  /** Bytes still expected in the body (Body: -1 means until the socket ends) or the current chunk. */
  remaining: number
  keepAlive: boolean
  body: Array<Buffer>
  bodyBytes: number
  /** The socket's last error, reported when it closes under a poll (a refused connection, a reset). */
  error: Error | null
}

const noop = () => {}

/**
 * `{"ok":true,"result":[]}`, as Telegram writes it, or with any spacing: what a poll at
 * rest gets back every 50 s. Anything else (updates, errors, odd JSON) takes the full path.
 */
const isEmptyResult = (text: string): boolean => {
  if (text === '{"ok":true,"result":[]}') return true
  if (text.length > 64) return false
  try {
    const answer = JSON.parse(text)
    return answer?.ok === true && Array.isArray(answer.result) && answer.result.length === 0
  } catch {
    return false
  }
}

export const make = (apiRoot: string): LongPoll => {
  const root = new URL(apiRoot)
  const secure = root.protocol === "https:"
  const host = root.hostname
  const port = root.port === "" ? (secure ? 443 : 80) : Number(root.port)
  const hostHeader = root.host
  // One session reused across a bot's reconnections saves most of a full handshake.
  let session: Buffer | undefined
  const idle = new Map<string, Connection>()
  const open = new Set<Connection>()

  const connect = (token: string): Connection => {
    const socket = secure
      ? tls.connect({
          host,
          port,
          servername: net.isIP(host) === 0 ? host : undefined,
          ALPNProtocols: ["http/1.1"],
          ...(session === undefined ? {} : { session })
        })
      : net.connect({ host, port })
    socket.setNoDelay(true)
    // A 50 s hold without a byte: keepalive probes keep NATs and proxies from dropping it.
    socket.setKeepAlive(true, 30_000)
    if (secure) {
      socket.on("session", (ticket: Buffer) => {
        session = ticket
      })
    }
    const connection: Connection = {
      socket,
      token,
      busy: false,
      again: null,
      againMillis: 0,
      answerMillis: 0,
      resolve: noop,
      reject: noop,
      phase: Phase.Head,
      pending: null,
      status: 0,
      statusText: "",
      remaining: 0,
      keepAlive: true,
      body: [],
      bodyBytes: 0,
      error: null
    }
    open.add(connection)
    socket.on("data", (data: Buffer) => onData(connection, data))
    socket.on("end", () => {
      // An answer without a length ends with the socket.
      if (connection.busy && connection.phase === Phase.Body && connection.remaining === -1) {
        finish(connection)
      }
      socket.destroy()
    })
    socket.on("error", (error) => {
      connection.error = error
    })
    socket.on("close", () => {
      open.delete(connection)
      if (idle.get(token) === connection) idle.delete(token)
      if (connection.busy) {
        fail(connection, connection.error ?? new Error("getUpdates: the answer was cut off"))
      }
    })
    socket.on("timeout", () => {
      if (connection.busy)
        connection.error = new Error(`getUpdates: no answer within ${connection.answerMillis} ms`)
      socket.destroy()
    })
    return connection
  }

  const fail = (connection: Connection, error: Error) => {
    const reject = connection.reject
    release(connection)
    connection.socket.destroy()
    reject(error)
  }

  const release = (connection: Connection) => {
    connection.busy = false
    connection.resolve = noop
    connection.reject = noop
    connection.pending = null
    connection.body = []
    connection.again = null
  }

  /** Ready to read the next answer on the same socket. */
  const expectAnswer = (connection: Connection) => {
    connection.phase = Phase.Head
    connection.pending = null
    connection.body = []
    connection.bodyBytes = 0
    connection.error = null
  }

  /** The whole answer is in: settle the poll, keep the socket for the bot's next one. */
  const finish = (connection: Connection) => {
    const { status, statusText, body, keepAlive } = connection
    const text = (body.length === 1 ? (body[0] as Buffer) : Buffer.concat(body)).toString("utf8")
    if (
      connection.again !== null &&
      keepAlive &&
      status === 200 &&
      !connection.socket.destroyed &&
      isEmptyResult(text)
    ) {
      // Nothing came: ask again at once; the socket's idle timer is the new request's deadline.
      expectAnswer(connection)
      if (connection.answerMillis !== connection.againMillis) {
        connection.answerMillis = connection.againMillis
        connection.socket.setTimeout(connection.againMillis)
      }
      connection.socket.write(connection.again)
      return
    }
    const { resolve, reject } = connection
    release(connection)
    if (keepAlive && !connection.socket.destroyed) {
      const previous = idle.get(connection.token)
      if (previous !== undefined && previous !== connection) previous.socket.destroy()
      idle.set(connection.token, connection)
      connection.socket.setTimeout(IDLE_MILLIS)
    } else {
      connection.socket.destroy()
    }
    let answer: {
      ok?: unknown
      result?: unknown
      error_code?: unknown
      description?: unknown
      parameters?: unknown
    }
    try {
      answer = JSON.parse(text)
    } catch {
      return reject(new BotApiError("getUpdates", status, statusText || `HTTP ${status}`, undefined))
    }
    if (answer?.ok === true) return resolve(answer.result)
    reject(
      typeof answer?.error_code === "number"
        ? new BotApiError(
            "getUpdates",
            answer.error_code,
            typeof answer.description === "string" ? answer.description : "",
            answer.parameters as BotApiError["parameters"]
          )
        : new BotApiError("getUpdates", status, statusText || `HTTP ${status}`, undefined)
    )
  }

  /** Reads the head and returns the bytes after it; undefined when it is incomplete (kept in `pending`) or bad. */
  const readHead = (connection: Connection, data: Buffer): Buffer | undefined => {
    const end = data.indexOf("\r\n\r\n")
    if (end === -1) {
      if (data.length > MAX_HEAD_BYTES) {
        fail(connection, new Error("getUpdates: the answer's head is too large"))
        return undefined
      }
      connection.pending = data
      return undefined
    }
    const lines = data.toString("latin1", 0, end).split("\r\n")
    const statusLine = /^HTTP\/1\.([01]) (\d{3})(?: (.*))?$/.exec(lines[0] ?? "")
    if (statusLine === null) {
      fail(connection, new Error("getUpdates: not an HTTP answer"))
      return undefined
    }
    const status = Number(statusLine[2])
    let length = -1
    let chunked = false
    let keepAlive = statusLine[1] === "1"
    for (let i = 1; i < lines.length; i++) {
      const line = lines[i] as string
      const colon = line.indexOf(":")
      if (colon <= 0) continue
      const name = line.slice(0, colon).trim().toLowerCase()
      const value = line
        .slice(colon + 1)
        .trim()
        .toLowerCase()
      if (name === "content-length") length = /^\d+$/.test(value) ? Number(value) : Number.NaN
      else if (name === "transfer-encoding") chunked = value.split(",").at(-1)?.trim() === "chunked"
      else if (name === "connection")
        keepAlive = value.includes("keep-alive") || (keepAlive && !value.includes("close"))
    }
    if (Number.isNaN(length) || length > MAX_BODY_BYTES) {
      fail(connection, new Error("getUpdates: the answer's length is unusable"))
      return undefined
    }
    // 1xx answers carry no body and another head follows: skip them.
    if (status >= 100 && status < 200) return readHead(connection, data.subarray(end + 4))
    connection.status = status
    connection.statusText = statusLine[3] ?? ""
    connection.keepAlive = keepAlive && (chunked || length >= 0)
    if (chunked) connection.phase = Phase.ChunkSize
    else {
      connection.phase = Phase.Body
      connection.remaining = length
    }
    return data.subarray(end + 4)
  }

  const addBody = (connection: Connection, bytes: Buffer) => {
    if (bytes.length === 0) return true
    connection.bodyBytes += bytes.length
    if (connection.bodyBytes > MAX_BODY_BYTES) {
      fail(connection, new Error("getUpdates: the answer is too large"))
      return false
    }
    connection.body.push(bytes)
    return true
  }

  const onData = (connection: Connection, chunk: Buffer) => {
    if (!connection.busy) {
      // Bytes nobody asked for: the socket is out of step, and no poll may read them.
      connection.socket.destroy()
      return
    }
    let data: Buffer | undefined =
      connection.pending === null ? chunk : Buffer.concat([connection.pending, chunk])
    connection.pending = null
    while (data !== undefined && connection.busy) {
      switch (connection.phase) {
        case Phase.Head: {
          data = readHead(connection, data)
          if (
            data !== undefined &&
            (connection.phase as Phase) === Phase.Body &&
            connection.remaining === 0
          ) {
            finish(connection)
            data = undefined
          }
          break
        }
        case Phase.Body: {
          if (connection.remaining === -1) {
            if (!addBody(connection, data)) return
            data = undefined
            break
          }
          const take = Math.min(connection.remaining, data.length)
          if (!addBody(connection, data.subarray(0, take))) return
          connection.remaining -= take
          if (connection.remaining === 0) {
            finish(connection)
            data = undefined
          } else data = undefined
          break
        }
        case Phase.ChunkSize:
        case Phase.ChunkEnd:
        case Phase.Trailers: {
          const lineEnd = data.indexOf("\r\n")
          if (lineEnd === -1) {
            if (data.length > MAX_HEAD_BYTES) return fail(connection, new Error("getUpdates: a bad chunk"))
            connection.pending = data
            data = undefined
            break
          }
          const line = data.toString("latin1", 0, lineEnd)
          const rest = data.subarray(lineEnd + 2)
          if (connection.phase === Phase.ChunkEnd) {
            if (line !== "") return fail(connection, new Error("getUpdates: a bad chunk"))
            connection.phase = Phase.ChunkSize
          } else if (connection.phase === Phase.Trailers) {
            // Trailers end with an empty line; their content is of no use here.
            if (line === "") {
              finish(connection)
              return
            }
          } else {
            const size = Number.parseInt(line.split(";")[0] as string, 16)
            if (!Number.isInteger(size) || size < 0 || !/^[0-9a-fA-F]+/.test(line)) {
              return fail(connection, new Error("getUpdates: a bad chunk"))
            }
            if (size === 0) connection.phase = Phase.Trailers
            else {
              connection.phase = Phase.ChunkData
              connection.remaining = size
            }
          }
          data = rest.length === 0 ? undefined : rest
          break
        }
        case Phase.ChunkData: {
          const take = Math.min(connection.remaining, data.length)
          if (!addBody(connection, data.subarray(0, take))) return
          connection.remaining -= take
          if (connection.remaining === 0) connection.phase = Phase.ChunkEnd
          data = take === data.length ? undefined : data.subarray(take)
          break
        }
      }
    }
  }

  const requestOf = (token: string, payload: object): Buffer => {
    const body = JSON.stringify(payload)
    // The URL parser drops line breaks and escapes spaces, so a token cannot add a header.
    const target = new URL(`./bot${token}/getUpdates`, root)
    return Buffer.from(
      `POST ${target.pathname}${target.search} HTTP/1.1\r\nhost: ${hostHeader}\r\n` +
        `content-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\n` +
        `connection: keep-alive\r\n\r\n${body}`
    )
  }

  const getUpdates = (
    token: string,
    payload: object,
    signal: AbortSignal,
    answerMillis: number,
    repeat: Repeat | null
  ) =>
    new Promise<unknown>((resolve, reject) => {
      if (signal.aborted) return reject(new Error("getUpdates: aborted"))
      let connection = idle.get(token)
      idle.delete(token)
      if (connection === undefined || connection.socket.destroyed || !connection.socket.writable) {
        connection?.socket.destroy()
        connection = connect(token)
      }
      const current = connection
      current.socket.setTimeout(answerMillis)
      current.busy = true
      current.answerMillis = answerMillis
      current.again = repeat === null ? null : requestOf(token, repeat.payload)
      current.againMillis = repeat === null ? 0 : repeat.answerMillis
      expectAnswer(current)
      const onAbort = () => {
        if (current.busy) fail(current, new Error("getUpdates: aborted"))
      }
      signal.addEventListener("abort", onAbort, { once: true })
      current.resolve = (value) => {
        signal.removeEventListener("abort", onAbort)
        resolve(value)
      }
      current.reject = (error) => {
        signal.removeEventListener("abort", onAbort)
        reject(error)
      }
      current.socket.write(requestOf(token, payload))
    })

  const close = () => {
    for (const connection of open) connection.socket.destroy()
    idle.clear()
  }

  return { getUpdates, close }
}
