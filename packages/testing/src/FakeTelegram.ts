/**
 * A local fake of the Telegram Bot API, speaking its wire format over real
 * HTTP, so the real adapter (and the whole server) can be tested and
 * benchmarked without the network: `POST /bot<token>/<method>` with JSON,
 * urlencoded or multipart bodies, answering `{ ok, result }` or
 * `{ ok: false, error_code, description, parameters? }` with the same HTTP
 * status Telegram uses. Faults and latency are scripted per method.
 *
 * The inspection API is plain synchronous functions so tests and the benchmark
 * can read and script it directly; the server itself is a scoped resource.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http"
import { Context, Effect, Layer, type Scope } from "effect"

export interface BotInfo {
  readonly id: number
  readonly username: string
  readonly firstName: string
}

/** What the next calls of a method answer instead of the normal result. */
export type Fault =
  /** 429 with `parameters.retry_after`. */
  | { readonly _tag: "RateLimited"; readonly retryAfterSeconds: number }
  /** A 5xx answer. */
  | { readonly _tag: "ServerError"; readonly status: number }
  /** Never answers; the client has to time out. */
  | { readonly _tag: "Hang" }
  /** Destroys the socket without an answer. */
  | { readonly _tag: "Reset" }
  /** Any other API error, e.g. 403 "Forbidden: bot was blocked by the user". */
  | { readonly _tag: "ApiError"; readonly status: number; readonly description: string }
  /** Answered as usual: queued before a fault, it makes that fault hit a later call. */
  | { readonly _tag: "None" }

const hang: Fault = { _tag: "Hang" }
const reset: Fault = { _tag: "Reset" }

export const Fault = {
  rateLimited: (retryAfterSeconds: number): Fault => ({ _tag: "RateLimited", retryAfterSeconds }),
  serverError: (status = 500): Fault => ({ _tag: "ServerError", status }),
  hang,
  reset,
  apiError: (status: number, description: string): Fault => ({ _tag: "ApiError", status, description }),
  none: { _tag: "None" } as Fault
}

/** generate_image: a `sendPhoto` upload the fake accepted. */
export interface SentPhoto {
  readonly botId: number
  readonly chatId: number
  readonly messageId: number
  /** The uploaded file's bytes, as sent. */
  readonly photo: Buffer
  readonly fileName: string | null
  readonly caption: string | null
  readonly replyToMessageId: number | null
}

export interface SentMessage {
  readonly botId: number
  readonly chatId: number
  readonly messageId: number
  readonly text: string
  readonly parseMode: string | null
  readonly replyToMessageId: number | null
  /** `reply_parameters.allow_sending_without_reply`; null when not given. */
  readonly allowSendingWithoutReply: boolean | null
  /** The forum topic it was posted in (`message_thread_id`); null when not given. */
  readonly topicId: number | null
  /** `reply_markup.inline_keyboard`, flattened: each button's text and callback data; empty when none. */
  readonly buttons: ReadonlyArray<{ readonly text: string; readonly data: string }>
  /** Epoch milliseconds when the fake received it. */
  readonly time: number
}

/** voice answers: a `sendVoice` (or `sendAudio`) upload the fake accepted. */
export interface SentVoice {
  readonly botId: number
  readonly chatId: number
  readonly messageId: number
  readonly method: "sendVoice" | "sendAudio"
  readonly fileName: string
  readonly audio: Uint8Array
  readonly caption: string | null
  readonly parseMode: string | null
  readonly replyToMessageId: number | null
  readonly topicId: number | null
  readonly time: number
}

export interface ChatAction {
  readonly botId: number
  readonly chatId: number
  readonly action: string
  /** `message_thread_id`; null when not given. */
  readonly topicId: number | null
  readonly time: number
}

/** conversations: a `sendMessageDraft` call the fake accepted. */
export interface Draft {
  readonly botId: number
  readonly chatId: number
  readonly draftId: number
  readonly text: string
  /** `message_thread_id`; null when not given. */
  readonly topicId: number | null
  readonly time: number
}

export interface CallbackAnswer {
  readonly botId: number
  readonly callbackQueryId: string
  readonly text: string | null
  readonly time: number
}

export interface WebhookEvent {
  readonly botId: number
  readonly type: "set" | "deleted"
  readonly url: string | null
  readonly secretToken: string | null
  readonly allowedUpdates: ReadonlyArray<string> | null
  readonly dropPendingUpdates: boolean
  readonly time: number
}

export interface Options {
  /** Delay before answering, per method name. */
  readonly latencyMillis?: Readonly<Record<string, number>> | undefined
}

/** A flood limit: `burst` messages at once, refilled at `perSecond` (a token bucket, like Telegram's "about"). */
export interface FloodRate {
  readonly perSecond: number
  readonly burst: number
}

/** Flood limits for sendMessage; past them the answer is 429 with `retry_after`, as Telegram does. */
export interface FloodLimits {
  readonly perBot?: FloodRate | undefined
  readonly perChat?: FloodRate | undefined
  /** Count `sendMessageDraft` in the same limits (Telegram does not say whether it does). */
  readonly drafts?: boolean | undefined
}

/**
 * Stricter than Telegram's published guidance: one message a second per chat
 * with no burst at all (Telegram tolerates short bursts but does not say how
 * long), 30 a second per bot, drafts counted like messages.
 */
export const strictFloodLimits: FloodLimits = {
  perBot: { perSecond: 30, burst: 30 },
  perChat: { perSecond: 1, burst: 1 },
  drafts: true
}

export interface FakeTelegramServer {
  /** Pass as the adapter's `apiRoot`. */
  readonly apiRoot: URL
  readonly registerBot: (token: string, info: BotInfo) => void
  /** Every later call with this token answers 401, as after a token reset in BotFather. */
  readonly revokeToken: (token: string) => void
  /** Queues an update for getUpdates (waking a held long poll); returns its `update_id`. */
  readonly pushUpdate: (token: string, update: Readonly<Record<string, unknown>>) => number
  /** The next `times` calls of `method` (any bot) answer with `fault`. */
  readonly failNext: (method: string, fault: Fault, times?: number) => void
  readonly setLatency: (method: string, millis: number) => void
  /** Enforces flood limits on sendMessage from now on (null: none, the default). */
  readonly setFloodLimits: (limits: FloodLimits | null) => void
  /** sendMessage calls answered with 429 by the flood limits. */
  readonly floodRejections: () => number
  /** What getWebhookInfo reports as the last delivery error. */
  readonly setWebhookError: (token: string, message: string, date?: Date) => void
  readonly sent: ReadonlyArray<SentMessage>
  /** generate_image: every photo uploaded with sendPhoto, oldest first. */
  readonly photos: ReadonlyArray<SentPhoto>
  readonly sentTo: (chatId: number, botId?: number) => ReadonlyArray<SentMessage>
  readonly chatActions: ReadonlyArray<ChatAction>
  /** Voice notes and audio files sent, in order (message ids shared with `sent`). */
  readonly voices: ReadonlyArray<SentVoice>
  readonly callbackAnswers: ReadonlyArray<CallbackAnswer>
  readonly webhooks: ReadonlyArray<WebhookEvent>
  /** The webhook currently set for a bot, if any. */
  readonly webhookOf: (token: string) => { readonly url: string; readonly secretToken: string | null } | null
  /** Requests per method, counted on arrival (faults and 401s included). */
  readonly calls: (method: string) => number
  readonly callCounts: () => Readonly<Record<string, number>>
  /** Clears logs, counters, faults and latency; keeps bots and webhooks. */
  readonly reset: () => void
  // conversations
  readonly drafts: ReadonlyArray<Draft>
  /**
   * A file getFile knows and `/file/bot<token>/<path>` serves; `null` content:
   * getFile answers but the download is a 404 (a file Telegram lost).
   */
  readonly addFile: (fileId: string, content: Uint8Array | null, filePath?: string) => void
  readonly fileDownloads: () => number
  /** getUpdates calls being held open right now (a client that goes away releases its own). */
  readonly heldPolls: () => number
  /**
   * The commands (setMyCommands) a bot was given last for users of
   * `languageCode` (Telegram's `language_code`), or of any language when
   * none is named; null when never.
   */
  readonly commandsOf: (
    token: string,
    languageCode?: string
  ) => ReadonlyArray<{ readonly command: string; readonly description: string }> | null
}

export class FakeTelegram extends Context.Service<FakeTelegram, FakeTelegramServer>()(
  "@botfleet/testing/FakeTelegram"
) {}

const MAX_MESSAGE_LENGTH = 4096

type Params = Record<string, unknown>

interface BotState {
  readonly info: BotInfo
  revoked: boolean
  readonly updates: Array<Readonly<Record<string, unknown>> & { readonly update_id: number }>
  nextUpdateId: number
  /** Held long polls; each re-checks the queue when woken. */
  readonly waiters: Set<() => void>
  webhook: { readonly url: string; readonly secretToken: string | null; allowedUpdates: unknown } | null
  webhookError: { readonly message: string; readonly date: number } | null
}

class ApiFailure {
  readonly status: number
  readonly description: string
  readonly parameters: Readonly<Record<string, unknown>> | undefined
  constructor(status: number, description: string, parameters?: Readonly<Record<string, unknown>>) {
    this.status = status
    this.description = description
    this.parameters = parameters
  }
}

// --- parameters arrive as JSON values, or as strings from forms and query strings ---

const stringParam = (params: Params, key: string): string | undefined => {
  const value = params[key]
  if (typeof value === "string") return value
  if (typeof value === "number" || typeof value === "boolean") return String(value)
  return undefined
}

const intParam = (params: Params, key: string): number | undefined => {
  const value = params[key]
  if (typeof value === "number") return Number.isInteger(value) ? value : undefined
  if (typeof value === "string" && /^-?\d+$/.test(value)) return Number(value)
  return undefined
}

const boolParam = (params: Params, key: string): boolean => {
  const value = params[key]
  return value === true || value === "true"
}

/** Objects and arrays are JSON-encoded strings in form bodies. */
const jsonParam = (params: Params, key: string): unknown => {
  const value = params[key]
  if (typeof value !== "string") return value
  try {
    return JSON.parse(value)
  } catch {
    return value
  }
}

const requireChatId = (params: Params): number => {
  const chatId = intParam(params, "chat_id")
  if (chatId === undefined) throw new ApiFailure(400, "Bad Request: chat not found")
  return chatId
}

/**
 * Index of the first `*` or `_` that is never closed (outside code spans,
 * not backslash-escaped), or -1: enough of Telegram's Markdown parser to
 * reproduce its most common "can't parse entities" error.
 */
export const unclosedEntityIndex = (text: string): number => {
  let open = -1
  let openChar = ""
  let inCode = false
  for (let i = 0; i < text.length; i++) {
    const char = text[i]
    if (char === "\\") {
      i++
    } else if (char === "`") {
      inCode = !inCode
    } else if (!inCode && (char === "*" || char === "_")) {
      if (open === -1) {
        open = i
        openChar = char
      } else if (char === openChar) {
        open = -1
      }
    }
  }
  return open
}

/** An uploaded file in a multipart body (sendVoice, sendAudio). */
export interface UploadedFile {
  readonly fileName: string
  readonly bytes: Uint8Array
}

/** Text fields as strings, file fields (with a filename) as their bytes: uploads stay binary. */
const parseMultipart = (body: Buffer, boundary: string): Params => {
  const params: Params = {}
  const delimiter = Buffer.from(`--${boundary}`)
  let start = body.indexOf(delimiter)
  while (start !== -1) {
    const next = body.indexOf(delimiter, start + delimiter.length)
    if (next === -1) break
    const part = body.subarray(start + delimiter.length + 2, next - 2)
    const headerEnd = part.indexOf("\r\n\r\n")
    start = next
    if (headerEnd === -1) continue
    const headers = part.subarray(0, headerEnd).toString("utf8")
    const name = /name="([^"]*)"/.exec(headers)?.[1]
    if (name === undefined) continue
    const fileName = /filename="([^"]*)"/.exec(headers)?.[1]
    const value = part.subarray(headerEnd + 4)
    params[name] =
      fileName === undefined
        ? value.toString("utf8")
        : ({ fileName, bytes: new Uint8Array(value) } satisfies UploadedFile)
  }
  return params
}

const parseBody = (contentType: string, raw: Buffer): Params => {
  if (raw.length === 0) return {}
  const boundary = /boundary=(?:"([^"]+)"|([^;]+))/.exec(contentType)
  if (contentType.includes("multipart/form-data") && boundary !== null) {
    return parseMultipart(raw, boundary[1] ?? boundary[2] ?? "")
  }
  const body = raw.toString("utf8")
  if (contentType.includes("application/json")) {
    const parsed: unknown = JSON.parse(body)
    if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed)) {
      throw new ApiFailure(400, "Bad Request: invalid parameters")
    }
    return { ...parsed }
  }
  return Object.fromEntries(new URLSearchParams(body))
}

const PATH = /^\/bot([^/]+)\/([A-Za-z]+)$/

/** The fake's state and request handler, apart from the server that carries it. */
const makeFake = (options: Options | undefined) => {
  const bots = new Map<string, BotState>()
  const faults = new Map<string, Array<Fault>>()
  const latency = new Map<string, number>(Object.entries(options?.latencyMillis ?? {}))
  const counts = new Map<string, number>()
  const messageIds = new Map<string, number>()
  let floodLimits: FloodLimits | null = null
  let floodRejections = 0
  const floodBuckets = new Map<string, { tokens: number; at: number }>()
  /** Seconds until a token is there, or 0 after spending one. */
  const floodWait = (key: string, rate: FloodRate, now: number): number => {
    const bucket = floodBuckets.get(key) ?? { tokens: rate.burst, at: now }
    bucket.tokens = Math.min(rate.burst, bucket.tokens + ((now - bucket.at) / 1000) * rate.perSecond)
    bucket.at = now
    floodBuckets.set(key, bucket)
    if (bucket.tokens >= 1) return 0
    return Math.max(1, Math.ceil((1 - bucket.tokens) / rate.perSecond))
  }
  const spendFlood = (key: string) => {
    const bucket = floodBuckets.get(key)
    if (bucket) bucket.tokens -= 1
  }
  /** Throws Telegram's 429 when this send is over a limit; otherwise counts it. */
  const checkFlood = (bot: BotState, chatId: number) => {
    if (floodLimits === null) return
    const now = Date.now()
    const botKey = `bot:${bot.info.id}`
    const chatKey = `chat:${bot.info.id}:${chatId}`
    const waits = [
      floodLimits.perBot ? floodWait(botKey, floodLimits.perBot, now) : 0,
      floodLimits.perChat ? floodWait(chatKey, floodLimits.perChat, now) : 0
    ]
    const retryAfter = Math.max(...waits)
    if (retryAfter > 0) {
      floodRejections += 1
      throw new ApiFailure(429, `Too Many Requests: retry after ${retryAfter}`, { retry_after: retryAfter })
    }
    if (floodLimits.perBot) spendFlood(botKey)
    if (floodLimits.perChat) spendFlood(chatKey)
  }
  let sent: Array<SentMessage> = []
  let photos: Array<SentPhoto> = []
  let sentByChat = new Map<string, Array<SentMessage>>()
  let chatActions: Array<ChatAction> = []
  let voices: Array<SentVoice> = []
  let callbackAnswers: Array<CallbackAnswer> = []
  let drafts: Array<Draft> = []
  const files = new Map<string, { readonly content: Uint8Array | null; readonly filePath: string }>()
  let fileDownloads = 0
  /** Per bot and language_code ("" for the menu of any language). */
  const commandMenus = new Map<
    string,
    ReadonlyArray<{ readonly command: string; readonly description: string }>
  >()
  const menuKey = (botId: number, languageCode: string) => `${botId}:${languageCode}`
  let webhooks: Array<WebhookEvent> = []
  /** Latency and long-poll timers, cleared when the server stops. */
  const timers = new Set<NodeJS.Timeout>()

  const later = (millis: number, run: () => void): NodeJS.Timeout => {
    const timer = setTimeout(() => {
      timers.delete(timer)
      run()
    }, millis)
    timers.add(timer)
    return timer
  }

  const botFor = (token: string): BotState => {
    const bot = bots.get(token)
    if (bot === undefined || bot.revoked) throw new ApiFailure(401, "Unauthorized")
    return bot
  }

  const knownBot = (token: string): BotState => {
    const bot = bots.get(token)
    if (bot === undefined) throw new Error("FakeTelegram: unknown bot token")
    return bot
  }

  const takeFault = (method: string): Fault | undefined => {
    const queue = faults.get(method)
    if (queue === undefined) return undefined
    const fault = queue.shift()
    if (queue.length === 0) faults.delete(method)
    return fault?._tag === "None" ? undefined : fault
  }

  const send = (res: ServerResponse, status: number, payload: unknown) => {
    if (res.writableEnded || res.destroyed) return
    const body = JSON.stringify(payload)
    res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(body) })
    res.end(body)
  }

  const sendFailure = (res: ServerResponse, failure: ApiFailure) =>
    send(res, failure.status, {
      ok: false,
      error_code: failure.status,
      description: failure.description,
      ...(failure.parameters === undefined ? {} : { parameters: failure.parameters })
    })

  /** Each button of an inline keyboard, row by row; anything else is no buttons. */
  const inlineButtons = (
    markup: unknown
  ): ReadonlyArray<{ readonly text: string; readonly data: string }> => {
    if (markup === null || typeof markup !== "object" || !("inline_keyboard" in markup)) return []
    const rows = markup.inline_keyboard
    if (!Array.isArray(rows)) return []
    return rows.flatMap((row: unknown) =>
      Array.isArray(row)
        ? row.map((button: { text?: unknown; callback_data?: unknown }) => ({
            text: String(button.text ?? ""),
            data: String(button.callback_data ?? "")
          }))
        : []
    )
  }

  const sendMessage = (bot: BotState, params: Params) => {
    const chatId = requireChatId(params)
    checkFlood(bot, chatId)
    const text = stringParam(params, "text") ?? ""
    if (text.length === 0) throw new ApiFailure(400, "Bad Request: message text is empty")
    if (text.length > MAX_MESSAGE_LENGTH) throw new ApiFailure(400, "Bad Request: message is too long")
    const parseMode = stringParam(params, "parse_mode") ?? null
    if (parseMode === "Markdown" || parseMode === "MarkdownV2") {
      const index = unclosedEntityIndex(text)
      if (index !== -1) {
        const offset = Buffer.byteLength(text.slice(0, index))
        throw new ApiFailure(
          400,
          `Bad Request: can't parse entities: Can't find end of the entity starting at byte offset ${offset}`
        )
      }
    }
    const replyParameters = jsonParam(params, "reply_parameters")
    const replyTo =
      intParam(params, "reply_to_message_id") ??
      (replyParameters !== null && typeof replyParameters === "object"
        ? intParam({ ...replyParameters }, "message_id")
        : undefined) ??
      null
    const allowSendingWithoutReply =
      replyParameters !== null &&
      typeof replyParameters === "object" &&
      "allow_sending_without_reply" in replyParameters &&
      typeof replyParameters.allow_sending_without_reply === "boolean"
        ? replyParameters.allow_sending_without_reply
        : null
    const chatKey = `${bot.info.id}:${chatId}`
    const messageId = (messageIds.get(chatKey) ?? 0) + 1
    messageIds.set(chatKey, messageId)
    const now = Date.now()
    const record: SentMessage = {
      botId: bot.info.id,
      chatId,
      messageId,
      text,
      parseMode,
      replyToMessageId: replyTo,
      allowSendingWithoutReply,
      topicId: intParam(params, "message_thread_id") ?? null,
      buttons: inlineButtons(jsonParam(params, "reply_markup")),
      time: now
    }
    sent.push(record)
    const forChat = sentByChat.get(chatKey)
    if (forChat === undefined) sentByChat.set(chatKey, [record])
    else forChat.push(record)
    return {
      message_id: messageId,
      from: { id: bot.info.id, is_bot: true, first_name: bot.info.firstName, username: bot.info.username },
      chat: { id: chatId, type: chatId > 0 ? "private" : "group" },
      date: Math.floor(now / 1000),
      text
    }
  }

  /** An upload as Telegram takes it: a file, a caption of 1,024 characters at most, Markdown checked. */
  const sendVoice = (bot: BotState, method: "sendVoice" | "sendAudio", params: Params) => {
    const chatId = requireChatId(params)
    checkFlood(bot, chatId)
    const file = params[method === "sendVoice" ? "voice" : "audio"]
    if (file === null || typeof file !== "object" || !("bytes" in file)) {
      throw new ApiFailure(400, "Bad Request: there is no file in the request")
    }
    const { fileName, bytes } = file as UploadedFile
    if (bytes.length === 0) throw new ApiFailure(400, "Bad Request: file must be non-empty")
    const caption = stringParam(params, "caption") ?? null
    if (caption !== null && caption.length > 1024) {
      throw new ApiFailure(400, "Bad Request: message caption is too long")
    }
    const parseMode = stringParam(params, "parse_mode") ?? null
    if (caption !== null && (parseMode === "Markdown" || parseMode === "MarkdownV2")) {
      const index = unclosedEntityIndex(caption)
      if (index !== -1) {
        throw new ApiFailure(
          400,
          `Bad Request: can't parse entities: Can't find end of the entity starting at byte offset ${Buffer.byteLength(caption.slice(0, index))}`
        )
      }
    }
    const replyParameters = jsonParam(params, "reply_parameters")
    const chatKey = `${bot.info.id}:${chatId}`
    const messageId = (messageIds.get(chatKey) ?? 0) + 1
    messageIds.set(chatKey, messageId)
    const now = Date.now()
    voices.push({
      botId: bot.info.id,
      chatId,
      messageId,
      method,
      fileName,
      audio: bytes,
      caption,
      parseMode,
      replyToMessageId:
        replyParameters !== null && typeof replyParameters === "object"
          ? (intParam({ ...replyParameters }, "message_id") ?? null)
          : null,
      topicId: intParam(params, "message_thread_id") ?? null,
      time: now
    })
    return {
      message_id: messageId,
      from: { id: bot.info.id, is_bot: true, first_name: bot.info.firstName, username: bot.info.username },
      chat: { id: chatId, type: chatId > 0 ? "private" : "group" },
      date: Math.floor(now / 1000),
      ...(method === "sendVoice"
        ? { voice: { file_id: `voice-${messageId}`, file_unique_id: `v${messageId}`, duration: 1 } }
        : { audio: { file_id: `audio-${messageId}`, file_unique_id: `a${messageId}`, duration: 1 } }),
      ...(caption === null ? {} : { caption })
    }
  }

  /** Answers now when updates are queued, else holds the request until a push or the timeout. */
  const getUpdates = (bot: BotState, params: Params, res: ServerResponse) => {
    if (bot.webhook !== null) {
      throw new ApiFailure(
        409,
        "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to delete the webhook first"
      )
    }
    const offset = intParam(params, "offset") ?? 0
    const limit = Math.min(Math.max(intParam(params, "limit") ?? 100, 1), 100)
    const timeoutSeconds = Math.max(intParam(params, "timeout") ?? 0, 0)
    // An offset confirms every update below it: Telegram forgets them.
    if (offset > 0) {
      const firstKept = bot.updates.findIndex((update) => update.update_id >= offset)
      bot.updates.splice(0, firstKept === -1 ? bot.updates.length : firstKept)
    }
    const available = () =>
      offset < 0 ? bot.updates.slice(offset).slice(0, limit) : bot.updates.slice(0, limit)
    const ready = available()
    if (ready.length > 0 || timeoutSeconds === 0) return ready
    const wake = () => {
      const updates = available()
      if (updates.length === 0) return
      finish()
      send(res, 200, { ok: true, result: updates })
    }
    const finish = () => {
      bot.waiters.delete(wake)
      clearTimeout(timer)
      timers.delete(timer)
    }
    const timer = later(timeoutSeconds * 1000, () => {
      finish()
      send(res, 200, { ok: true, result: [] })
    })
    bot.waiters.add(wake)
    res.on("close", finish)
    return undefined
  }

  /** The method's result, or undefined when it answers later itself. */
  const dispatch = (method: string, bot: BotState, params: Params, res: ServerResponse): unknown => {
    const now = Date.now()
    switch (method) {
      case "getMe":
        return {
          id: bot.info.id,
          is_bot: true,
          first_name: bot.info.firstName,
          username: bot.info.username,
          can_join_groups: true,
          can_read_all_group_messages: false,
          supports_inline_queries: false
        }
      case "sendMessage":
        return sendMessage(bot, params)
      case "sendVoice":
      case "sendAudio":
        return sendVoice(bot, method, params)
      case "sendPhoto": {
        const chatId = requireChatId(params)
        const file = params.photo
        if (!(file !== null && typeof file === "object" && "bytes" in file)) {
          throw new ApiFailure(400, "Bad Request: there is no photo in the request")
        }
        const upload = file as UploadedFile
        const chatKey = `${bot.info.id}:${chatId}`
        const messageId = (messageIds.get(chatKey) ?? 0) + 1
        messageIds.set(chatKey, messageId)
        const replyParameters = jsonParam(params, "reply_parameters")
        photos.push({
          botId: bot.info.id,
          chatId,
          messageId,
          photo: Buffer.from(upload.bytes),
          fileName: upload.fileName,
          caption: stringParam(params, "caption") ?? null,
          replyToMessageId:
            replyParameters !== null && typeof replyParameters === "object"
              ? (intParam({ ...replyParameters }, "message_id") ?? null)
              : null
        })
        return { message_id: messageId, chat: { id: chatId }, date: Math.floor(Date.now() / 1000), photo: [] }
      }
      case "sendChatAction": {
        const chatId = requireChatId(params)
        chatActions.push({
          botId: bot.info.id,
          chatId,
          action: stringParam(params, "action") ?? "",
          topicId: intParam(params, "message_thread_id") ?? null,
          time: now
        })
        return true
      }
      case "answerCallbackQuery": {
        const callbackQueryId = stringParam(params, "callback_query_id")
        if (callbackQueryId === undefined) throw new ApiFailure(400, "Bad Request: query is too old")
        callbackAnswers.push({
          botId: bot.info.id,
          callbackQueryId,
          text: stringParam(params, "text") ?? null,
          time: now
        })
        return true
      }
      case "setWebhook": {
        const url = stringParam(params, "url") ?? ""
        const secretToken = stringParam(params, "secret_token") ?? null
        const allowed = jsonParam(params, "allowed_updates")
        const allowedUpdates = Array.isArray(allowed) ? allowed.map(String) : null
        const dropPendingUpdates = boolParam(params, "drop_pending_updates")
        if (dropPendingUpdates) bot.updates.length = 0
        // An empty url removes the webhook, as in the real API.
        bot.webhook = url === "" ? null : { url, secretToken, allowedUpdates }
        webhooks.push({
          botId: bot.info.id,
          type: url === "" ? "deleted" : "set",
          url: url === "" ? null : url,
          secretToken,
          allowedUpdates,
          dropPendingUpdates,
          time: now
        })
        return true
      }
      case "deleteWebhook": {
        const dropPendingUpdates = boolParam(params, "drop_pending_updates")
        if (dropPendingUpdates) bot.updates.length = 0
        bot.webhook = null
        webhooks.push({
          botId: bot.info.id,
          type: "deleted",
          url: null,
          secretToken: null,
          allowedUpdates: null,
          dropPendingUpdates,
          time: now
        })
        return true
      }
      case "getWebhookInfo":
        return {
          url: bot.webhook?.url ?? "",
          has_custom_certificate: false,
          pending_update_count: bot.updates.length,
          ...(bot.webhookError === null
            ? {}
            : { last_error_date: bot.webhookError.date, last_error_message: bot.webhookError.message }),
          ...(Array.isArray(bot.webhook?.allowedUpdates)
            ? { allowed_updates: bot.webhook.allowedUpdates }
            : {})
        }
      case "getUpdates":
        return getUpdates(bot, params, res)
      case "setMyCommands": {
        const commands = jsonParam(params, "commands")
        if (!Array.isArray(commands)) throw new ApiFailure(400, "Bad Request: commands must be an array")
        const menu = commands.map((entry) => {
          const command = typeof entry?.command === "string" ? entry.command : ""
          const description = typeof entry?.description === "string" ? entry.description : ""
          if (!/^[a-z0-9_]{1,32}$/.test(command) || description.length < 1 || description.length > 256) {
            throw new ApiFailure(400, "Bad Request: BOT_COMMAND_INVALID")
          }
          return { command, description }
        })
        const languageCode = stringParam(params, "language_code") ?? ""
        if (languageCode !== "" && !/^[a-z]{2}$/.test(languageCode)) {
          throw new ApiFailure(400, "Bad Request: invalid language_code")
        }
        commandMenus.set(menuKey(bot.info.id, languageCode), menu)
        return true
      }
      case "getFile": {
        const fileId = stringParam(params, "file_id") ?? ""
        const file = files.get(fileId)
        if (file === undefined) throw new ApiFailure(400, "Bad Request: invalid file_id")
        return {
          file_id: fileId,
          file_unique_id: `u-${fileId}`,
          file_size: file.content?.length ?? 0,
          file_path: file.filePath
        }
      }
      // conversations: Bot API 9.3, private chats only.
      case "sendMessageDraft": {
        const chatId = requireChatId(params)
        const draftId = intParam(params, "draft_id") ?? 0
        const text = stringParam(params, "text") ?? ""
        if (draftId === 0) throw new ApiFailure(400, "Bad Request: draft_id must be non-zero")
        if (text.length === 0) throw new ApiFailure(400, "Bad Request: text must be non-empty")
        if (text.length > MAX_MESSAGE_LENGTH) throw new ApiFailure(400, "Bad Request: text is too long")
        if (chatId <= 0) throw new ApiFailure(400, "Bad Request: drafts can be sent to private chats only")
        if (floodLimits?.drafts) checkFlood(bot, chatId)
        drafts.push({
          botId: bot.info.id,
          chatId,
          draftId,
          text,
          topicId: intParam(params, "message_thread_id") ?? null,
          time: now
        })
        return true
      }
      default:
        throw new ApiFailure(404, "Not Found")
    }
  }

  const answer = (
    token: string,
    method: string,
    fault: Fault | undefined,
    params: Params,
    req: IncomingMessage,
    res: ServerResponse
  ) => {
    if (fault !== undefined) {
      switch (fault._tag) {
        case "Hang":
          return
        case "Reset":
          req.socket.destroy()
          return
        case "RateLimited":
          return sendFailure(
            res,
            new ApiFailure(429, `Too Many Requests: retry after ${fault.retryAfterSeconds}`, {
              retry_after: fault.retryAfterSeconds
            })
          )
        case "ServerError":
          return sendFailure(res, new ApiFailure(fault.status, "Internal Server Error"))
        case "ApiError":
          return sendFailure(res, new ApiFailure(fault.status, fault.description))
      }
    }
    try {
      const result = dispatch(method, botFor(token), params, res)
      if (result !== undefined) send(res, 200, { ok: true, result })
    } catch (error) {
      if (error instanceof ApiFailure) sendFailure(res, error)
      else sendFailure(res, new ApiFailure(500, "Internal Server Error"))
    }
  }

  /** `GET /file/bot<token>/<path>`: the bytes of a known file. */
  const serveFile = (token: string, filePath: string, res: ServerResponse) => {
    fileDownloads += 1
    const bot = bots.get(token)
    const file = [...files.values()].find((candidate) => candidate.filePath === filePath)
    if (bot === undefined || bot.revoked) return sendFailure(res, new ApiFailure(401, "Unauthorized"))
    if (file === undefined || file.content === null) return sendFailure(res, new ApiFailure(404, "Not Found"))
    res.writeHead(200, { "content-type": "application/octet-stream", "content-length": file.content.length })
    res.end(file.content)
  }

  const handle = (req: IncomingMessage, res: ServerResponse) => {
    const url = req.url ?? "/"
    const download = /^\/file\/bot([^/]+)\/(.+)$/.exec(url)
    if (download !== null) {
      req.resume()
      return serveFile(decodeURIComponent(download[1]!), download[2]!, res)
    }
    const queryStart = url.indexOf("?")
    const match = PATH.exec(queryStart === -1 ? url : url.slice(0, queryStart))
    const chunks: Array<Buffer> = []
    req.on("data", (chunk: Buffer) => chunks.push(chunk))
    req.on("end", () => {
      if (match === null) return sendFailure(res, new ApiFailure(404, "Not Found"))
      const token = decodeURIComponent(match[1]!)
      const method = match[2]!
      counts.set(method, (counts.get(method) ?? 0) + 1)
      const fault = takeFault(method)
      let params: Params
      try {
        params = {
          ...(queryStart === -1 ? {} : Object.fromEntries(new URLSearchParams(url.slice(queryStart + 1)))),
          ...parseBody(req.headers["content-type"] ?? "", Buffer.concat(chunks))
        }
      } catch {
        return sendFailure(res, new ApiFailure(400, "Bad Request: can't parse request body"))
      }
      const delay = latency.get(method) ?? 0
      if (delay > 0) later(delay, () => answer(token, method, fault, params, req, res))
      else answer(token, method, fault, params, req, res)
    })
  }

  const stop = () => {
    for (const timer of timers) clearTimeout(timer)
    timers.clear()
  }

  const api = (apiRoot: URL): FakeTelegramServer => ({
    apiRoot,
    registerBot: (token, info) => {
      bots.set(token, {
        info,
        revoked: false,
        updates: [],
        nextUpdateId: 1,
        waiters: new Set(),
        webhook: null,
        webhookError: null
      })
    },
    revokeToken: (token) => {
      knownBot(token).revoked = true
    },
    pushUpdate: (token, update) => {
      const bot = knownBot(token)
      const given = update.update_id
      const updateId = typeof given === "number" ? given : bot.nextUpdateId
      bot.nextUpdateId = Math.max(bot.nextUpdateId, updateId + 1)
      bot.updates.push({ ...update, update_id: updateId })
      for (const wake of [...bot.waiters]) wake()
      return updateId
    },
    failNext: (method, fault, times = 1) => {
      const queue = faults.get(method) ?? []
      for (let i = 0; i < times; i++) queue.push(fault)
      faults.set(method, queue)
    },
    setLatency: (method, millis) => {
      latency.set(method, millis)
    },
    setFloodLimits: (limits) => {
      floodLimits = limits
      floodBuckets.clear()
    },
    floodRejections: () => floodRejections,
    setWebhookError: (token, message, date = new Date()) => {
      knownBot(token).webhookError = { message, date: Math.floor(date.getTime() / 1000) }
    },
    get sent() {
      return sent
    },
    get photos() {
      return photos
    },
    sentTo: (chatId, botId) =>
      botId === undefined
        ? sent.filter((message) => message.chatId === chatId)
        : (sentByChat.get(`${botId}:${chatId}`) ?? []),
    get chatActions() {
      return chatActions
    },
    get voices() {
      return voices
    },
    get callbackAnswers() {
      return callbackAnswers
    },
    get webhooks() {
      return webhooks
    },
    webhookOf: (token) => {
      const webhook = knownBot(token).webhook
      return webhook === null ? null : { url: webhook.url, secretToken: webhook.secretToken }
    },
    get drafts() {
      return drafts
    },
    addFile: (fileId, content, filePath = `voice/${fileId}.oga`) => {
      files.set(fileId, { content, filePath })
    },
    fileDownloads: () => fileDownloads,
    heldPolls: () => {
      let held = 0
      for (const bot of bots.values()) held += bot.waiters.size
      return held
    },
    commandsOf: (token, languageCode = "") =>
      commandMenus.get(menuKey(knownBot(token).info.id, languageCode)) ?? null,
    calls: (method) => counts.get(method) ?? 0,
    callCounts: () => Object.fromEntries(counts),
    reset: () => {
      sent = []
      photos = []
      sentByChat = new Map()
      chatActions = []
      voices = []
      callbackAnswers = []
      drafts = []
      webhooks = []
      counts.clear()
      faults.clear()
      latency.clear()
    }
  })

  return { handle, stop, api }
}

export const make = (options?: Options): Effect.Effect<FakeTelegramServer, never, Scope.Scope> =>
  Effect.gen(function* () {
    const fake = makeFake(options)
    const server = yield* Effect.acquireRelease(
      Effect.callback<Server>((resume) => {
        const created = createServer(fake.handle)
        // Long polls and keep-alive connections must outlive Node's defaults in benchmarks.
        created.keepAliveTimeout = 60_000
        created.requestTimeout = 0
        created.once("error", (error) => resume(Effect.die(error)))
        // A deep backlog: benchmarks open hundreds of connections at once.
        created.listen({ port: 0, host: "127.0.0.1", backlog: 4096 }, () => resume(Effect.succeed(created)))
      }),
      (running) =>
        Effect.callback<void>((resume) => {
          fake.stop()
          running.close(() => resume(Effect.void))
          // Held long polls and hung requests would otherwise keep close() waiting.
          running.closeAllConnections()
        })
    )
    const address = server.address()
    if (address === null || typeof address === "string") {
      return yield* Effect.die(new Error("FakeTelegram: the server has no TCP address"))
    }
    return fake.api(new URL(`http://127.0.0.1:${address.port}`))
  })

/** The fake as a service, for `layer(FakeTelegram.layer())(...)` test blocks. */
export const layer = (options?: Options): Layer.Layer<FakeTelegram> =>
  Layer.effect(FakeTelegram, make(options))
