/**
 * The Telegram Bot API as JSON POSTs (botApiHttp.ts: one pool of kept-alive
 * sockets for every bot, typed by telegraf's Bot API types), with a timeout,
 * a span and bounded retries on every call, and failures mapped to the port's
 * `TelegramError` with the token scrubbed out of every message.
 */
import {
  type MessageDraftInput,
  type PollOptions,
  type SendMessageInput,
  type SendPhotoInput,
  type SendVoiceInput,
  spanFn,
  TelegramError,
  TelegramGateway,
  type Token,
  type WebhookInfo
} from "@botfleet/application"
import { Duration, Effect, Exit, Layer, Random, Redacted } from "effect"
import * as BotApi from "./botApiHttp.ts"
import * as LongPoll from "./longPollHttp.ts"
import { ALLOWED_UPDATES, decodeUpdate, readUpdate } from "./readUpdate.ts"

export interface Options {
  /** The Bot API base URL (`TELEGRAM_API_ROOT`). */
  readonly apiRoot: URL
  /** Per attempt; getUpdates adds its long-poll timeout to it. Default 10 s. */
  readonly requestTimeout?: Duration.Input | undefined
}

/** Update kinds the bots handle, for both webhooks and long polling: the decoder's own list. */
export { ALLOWED_UPDATES }

const MAX_RATE_LIMIT_RETRIES = 3
/** A longer wait is the caller's to schedule: holding a fiber that long helps nobody. */
const MAX_RETRY_AFTER_SECONDS = 30
/**
 * A post to a chat runs in a pipeline slot: a longer retry_after goes back to
 * the caller at once, which hands the chat back until then (`Paced`) and
 * frees the slot for another bot's chat.
 */
const MAX_POST_RETRY_AFTER_SECONDS = 1
const MAX_UNAVAILABLE_RETRIES = 2
const BACKOFF_BASE_MILLIS = 200

/** Network error messages may carry the request URL, which holds the token. */
const TOKEN_IN_TEXT = /bot\d+:[A-Za-z0-9_-]+/g

export const scrubToken = (text: string, token?: string): string => {
  const scrubbed = text.replace(TOKEN_IN_TEXT, "bot<redacted>")
  // Also catch a token that does not look like one (test tokens, other API modes).
  return token !== undefined && token.length > 0 ? scrubbed.split(token).join("<redacted>") : scrubbed
}

const kindOf = (status: number): TelegramError["kind"] => {
  if (status === 401) return "unauthorized"
  if (status === 403) return "forbidden"
  if (status === 404) return "not_found"
  if (status === 429) return "rate_limited"
  if (status >= 500) return "unavailable"
  // 400, and 409 (getUpdates while a webhook is set): resending will not help.
  return "bad_request"
}

/** Maps an API error (as botApiHttp throws it); anything without an API answer is a network failure. */
export const toTelegramError = (method: string, cause: unknown, token?: string): TelegramError => {
  if (cause instanceof BotApi.BotApiError) {
    const status = Number.isInteger(cause.code) ? cause.code : null
    const retryAfter = cause.parameters?.retry_after
    return new TelegramError({
      method,
      kind: status === null ? "unavailable" : kindOf(status),
      status,
      description: scrubToken(String(cause.description ?? cause.message), token),
      retryAfterSeconds: typeof retryAfter === "number" ? retryAfter : null
    })
  }
  const message = cause instanceof Error ? cause.message : String(cause)
  return new TelegramError({
    method,
    kind: "unavailable",
    status: null,
    description: scrubToken(message, token),
    retryAfterSeconds: null
  })
}

const timedOut = (method: string, timeout: Duration.Duration) =>
  new TelegramError({
    method,
    kind: "unavailable",
    status: null,
    description: `no answer within ${Duration.toMillis(timeout)} ms`,
    retryAfterSeconds: null
  })

/**
 * 429 waits the `retry_after` Telegram asked for, up to `maxRetryAfterSeconds`; unavailable backs off
 * exponentially with jitter. Each budget is counted on its own, and nothing
 * else is retried: 400/401/403/404 will fail the same way again. A call that
 * must not happen twice (`sendMessage`) is not retried when no answer came
 * (timeout, reset): Telegram may have done it, so the caller decides.
 */
const withRetries = <A>(
  attempt: Effect.Effect<A, TelegramError>,
  retryWithoutAnswer: boolean,
  maxRetryAfterSeconds: number,
  onRateLimited?: (seconds: number) => void
): Effect.Effect<A, TelegramError> => {
  const loop = (rateLimited: number, unavailable: number): Effect.Effect<A, TelegramError> =>
    Effect.catch(attempt, (error) => {
      if (
        error.kind === "rate_limited" &&
        rateLimited < MAX_RATE_LIMIT_RETRIES &&
        error.retryAfterSeconds !== null &&
        error.retryAfterSeconds <= maxRetryAfterSeconds
      ) {
        onRateLimited?.(error.retryAfterSeconds)
        return Effect.andThen(
          Effect.sleep(Duration.seconds(error.retryAfterSeconds)),
          loop(rateLimited + 1, unavailable)
        )
      }
      if (
        error.kind === "unavailable" &&
        unavailable < MAX_UNAVAILABLE_RETRIES &&
        (retryWithoutAnswer || error.status !== null)
      ) {
        return Random.nextBetween(0.8, 1.2).pipe(
          Effect.flatMap((jitter) => Effect.sleep(BACKOFF_BASE_MILLIS * 2 ** unavailable * jitter)),
          Effect.andThen(loop(rateLimited, unavailable + 1))
        )
      }
      return Effect.fail(error)
    })
  return loop(0, 0)
}

/** Calls that post to the chat: repeated without an answer, the user could see them twice. */
const POSTS = new Set(["sendMessage", "sendVoice", "sendAudio", "sendPhoto"])

/** A voice answer's upload: up to a few MB, more than the 10 s a JSON call gets. */
const UPLOAD_TIMEOUT = Duration.seconds(60)

const TIMED_OUT = Symbol("timed out")

/**
 * Runs `run` with a signal that aborts when the fiber is interrupted or after
 * `ms`, rejecting with TIMED_OUT then. One timer per call: Effect's timeout
 * forks a fiber per call, which cost a third of a sendMessage.
 */
const within = <A>(ms: number, interrupted: AbortSignal, run: (signal: AbortSignal) => Promise<A>) =>
  new Promise<A>((resolve, reject) => {
    const controller = new AbortController()
    const abort = () => controller.abort()
    const timer = setTimeout(() => {
      abort()
      reject(TIMED_OUT)
    }, ms)
    interrupted.addEventListener("abort", abort, { once: true })
    run(controller.signal)
      .then(resolve, reject)
      .finally(() => {
        clearTimeout(timer)
        interrupted.removeEventListener("abort", abort)
      })
  })

export const layer = (options: Options): Layer.Layer<TelegramGateway> =>
  Layer.effect(
    TelegramGateway,
    Effect.gen(function* () {
      const fn = yield* spanFn
      /** Spans are named after the API method so traces read like the Bot API docs. */
      const traced = (method: string) =>
        fn(`Telegram.${method}`, { kind: "client", attributes: { "telegram.method": method } })

      const requestTimeout = Duration.fromInputUnsafe(options.requestTimeout ?? "10 seconds")
      // "bot<token>/<method>" is resolved against apiRoot, so a path prefix survives only with a
      // trailing slash.
      const apiRoot = options.apiRoot.href.endsWith("/") ? options.apiRoot.href : `${options.apiRoot.href}/`
      const api = BotApi.make(apiRoot)
      // Long polls hold a socket each for up to 50 s: their own lighter client (longPollHttp.ts).
      const longPoll = LongPoll.make(apiRoot)
      yield* Effect.addFinalizer(() => Effect.sync(longPoll.close))

      /**
       * One API call: timeout per attempt (the signal aborts the HTTP request), retries, error
       * mapping. A `null` timeout leaves the deadline to `run` (long polls time each request themselves).
       */
      const call = <A>(
        method: string,
        token: Token,
        run: (secret: string, signal: AbortSignal) => Promise<A>,
        timeout: Duration.Duration | null = requestTimeout,
        retries = true,
        onRateLimited?: (seconds: number) => void
      ): Effect.Effect<A, TelegramError> => {
        const secret = Redacted.value(token)
        const attempt = Effect.tryPromise({
          try: (signal) =>
            timeout === null
              ? run(secret, signal)
              : within(Duration.toMillis(timeout), signal, (bounded) => run(secret, bounded)),
          catch: (cause) =>
            cause === TIMED_OUT && timeout !== null
              ? timedOut(method, timeout)
              : toTelegramError(method, cause, secret)
        })
        const posts = POSTS.has(method)
        const maxRetryAfter = posts ? MAX_POST_RETRY_AFTER_SECONDS : MAX_RETRY_AFTER_SECONDS
        return (retries ? withRetries(attempt, !posts, maxRetryAfter, onRateLimited) : attempt).pipe(
          Effect.tapError((error) =>
            Effect.annotateCurrentSpan(
              // No status when no answer came: a made-up 0 would pollute status dashboards.
              error.status === null
                ? { "telegram.error_kind": error.kind }
                : { "telegram.status": error.status, "telegram.error_kind": error.kind }
            )
          )
        )
      }

      const getMe = traced("getMe")(function* (token: Token) {
        const me = yield* call("getMe", token, (secret, signal) => api.call(secret, "getMe", {}, signal))
        return { id: me.id, username: me.username, firstName: me.first_name }
      })

      const setWebhook = traced("setWebhook")(function* (
        token: Token,
        webhook: { readonly url: string; readonly secretToken: string }
      ) {
        yield* call("setWebhook", token, (secret, signal) =>
          api.call(
            secret,
            "setWebhook",
            { url: webhook.url, secret_token: webhook.secretToken, allowed_updates: ALLOWED_UPDATES },
            signal
          )
        )
      })

      const deleteWebhook = traced("deleteWebhook")(function* (token: Token) {
        // Pending updates are kept: the bot switches to polling and must still answer them.
        yield* call("deleteWebhook", token, (secret, signal) =>
          api.call(secret, "deleteWebhook", { drop_pending_updates: false }, signal)
        )
      })

      const getWebhookInfo = traced("getWebhookInfo")(function* (token: Token) {
        const info = yield* call("getWebhookInfo", token, (secret, signal) =>
          api.call(secret, "getWebhookInfo", {}, signal)
        )
        const result: WebhookInfo = {
          url: info.url ?? "",
          pendingUpdateCount: info.pending_update_count,
          lastErrorMessage: info.last_error_message ?? null,
          lastErrorDate: info.last_error_date === undefined ? null : new Date(info.last_error_date * 1000)
        }
        return result
      })

      const sendMessage = traced("sendMessage")(function* (token: Token, input: SendMessageInput) {
        let rateLimitedSeconds = 0
        const message = yield* call(
          "sendMessage",
          token,
          (secret, signal) =>
            api.call(
              secret,
              "sendMessage",
              {
                chat_id: input.chatId,
                text: input.text,
                ...(input.parseMode === undefined ? {} : { parse_mode: input.parseMode }),
                ...(input.topicId == null ? {} : { message_thread_id: input.topicId }),
                ...(input.buttons === undefined
                  ? {}
                  : {
                      reply_markup: {
                        inline_keyboard: input.buttons.map((row) =>
                          row.map((button) => ({ text: button.text, callback_data: button.data }))
                        )
                      }
                    }),
                // A reply whose original was deleted is still worth sending.
                ...(input.replyToMessageId === undefined
                  ? {}
                  : {
                      reply_parameters: {
                        message_id: input.replyToMessageId,
                        allow_sending_without_reply: true
                      }
                    })
              },
              signal
            ),
          requestTimeout,
          true,
          (seconds) => {
            rateLimitedSeconds += seconds
          }
        )
        return rateLimitedSeconds > 0
          ? { messageId: message.message_id, rateLimitedSeconds }
          : { messageId: message.message_id }
      })

      const sendVoice = traced("sendVoice")(function* (token: Token, input: SendVoiceInput) {
        const method = input.as === "voice" ? "sendVoice" : "sendAudio"
        const fields: Record<string, string> = {
          chat_id: String(input.chatId),
          ...(input.caption === undefined ? {} : { caption: input.caption }),
          ...(input.parseMode === undefined ? {} : { parse_mode: input.parseMode }),
          ...(input.topicId == null ? {} : { message_thread_id: String(input.topicId) }),
          ...(input.replyToMessageId === undefined
            ? {}
            : {
                reply_parameters: JSON.stringify({
                  message_id: input.replyToMessageId,
                  allow_sending_without_reply: true
                })
              })
        }
        const file: BotApi.UploadFile = {
          field: input.as,
          fileName: input.fileName,
          contentType: input.as === "voice" ? "audio/ogg" : "application/octet-stream",
          bytes: input.audio
        }
        const message = yield* call(
          method,
          token,
          (secret, signal) => api.upload(secret, method, fields, file, signal),
          UPLOAD_TIMEOUT
        )
        return { messageId: (message as { readonly message_id: number }).message_id }
      })

      const sendPhoto = traced("sendPhoto")(function* (token: Token, input: SendPhotoInput) {
        const fields: Record<string, string> = { chat_id: String(input.chatId) }
        if (input.caption !== undefined) fields.caption = input.caption
        if (input.topicId != null) fields.message_thread_id = String(input.topicId)
        if (input.replyToMessageId !== undefined) {
          fields.reply_parameters = JSON.stringify({
            message_id: input.replyToMessageId,
            allow_sending_without_reply: true
          })
        }
        // An upload takes longer than a text: a few MB at a slow link.
        const message = (yield* call(
          "sendPhoto",
          token,
          (secret, signal) =>
            api.upload(
              secret,
              "sendPhoto",
              fields,
              {
                field: "photo",
                fileName: input.fileName,
                contentType: "application/octet-stream",
                bytes: input.photo
              },
              signal
            ),
          UPLOAD_TIMEOUT
        )) as { readonly message_id: number }
        return { messageId: message.message_id }
      })

      const sendChatAction = traced("sendChatAction")(function* (
        token: Token,
        chatId: number,
        action: "typing" | "record_voice",
        topicId?: number | null | undefined
      ) {
        yield* call("sendChatAction", token, (secret, signal) =>
          api.call(
            secret,
            "sendChatAction",
            { chat_id: chatId, action, ...(topicId == null ? {} : { message_thread_id: topicId }) },
            signal
          )
        )
      })

      const answerCallbackQuery = traced("answerCallbackQuery")(function* (
        token: Token,
        callbackQueryId: string,
        text?: string | undefined
      ) {
        yield* call("answerCallbackQuery", token, (secret, signal) =>
          api.call(
            secret,
            "answerCallbackQuery",
            { callback_query_id: callbackQueryId, ...(text === undefined ? {} : { text }) },
            signal
          )
        )
      })

      const sendMessageDraft = traced("sendMessageDraft")(function* (token: Token, input: MessageDraftInput) {
        yield* call(
          "sendMessageDraft",
          token,
          // conversations: newer than telegraf's Bot API types, so untyped.
          (secret, signal) =>
            api.callUntyped(
              secret,
              "sendMessageDraft",
              {
                chat_id: input.chatId,
                draft_id: input.draftId,
                text: input.text,
                ...(input.topicId == null ? {} : { message_thread_id: input.topicId })
              },
              signal
            ),
          // A draft that is late is worthless: a short timeout and no retries.
          Duration.seconds(3),
          false
        )
      })

      /** The file's bytes over plain HTTP, refused once more than `maxBytes` arrive. */
      const fetchFile = (token: Token, filePath: string, maxBytes: number) => {
        const secret = Redacted.value(token)
        const failure = (kind: TelegramError["kind"], status: number | null, description: string) =>
          new TelegramError({ method: "downloadFile", kind, status, description, retryAfterSeconds: null })
        const downloadTimeout = Duration.seconds(60)
        const attempt = Effect.tryPromise({
          try: (signal) =>
            within(Duration.toMillis(downloadTimeout), signal, async (bounded) => {
              const response = await fetch(`${apiRoot}file/bot${secret}/${filePath}`, { signal: bounded })
              if (!response.ok) {
                await response.body?.cancel()
                throw failure(
                  kindOf(response.status),
                  response.status,
                  `file download answered ${response.status}`
                )
              }
              const chunks: Array<Uint8Array> = []
              let size = 0
              for await (const chunk of response.body ?? []) {
                size += chunk.length
                if (size > maxBytes)
                  throw failure("bad_request", 400, `file is larger than ${maxBytes} bytes`)
                chunks.push(chunk)
              }
              return new Uint8Array(Buffer.concat(chunks))
            }),
          catch: (cause) =>
            cause === TIMED_OUT
              ? timedOut("downloadFile", downloadTimeout)
              : cause instanceof TelegramError
                ? cause
                : toTelegramError("downloadFile", cause, secret)
        })
        return withRetries(attempt, true, MAX_RETRY_AFTER_SECONDS)
      }

      const downloadFile = traced("downloadFile")(function* (token: Token, fileId: string, maxBytes: number) {
        const file = yield* call("getFile", token, (secret, signal) =>
          api.call(secret, "getFile", { file_id: fileId }, signal)
        )
        if (file.file_size !== undefined && file.file_size > maxBytes) {
          return yield* new TelegramError({
            method: "getFile",
            kind: "bad_request",
            status: 400,
            description: `file is larger than ${maxBytes} bytes`,
            retryAfterSeconds: null
          })
        }
        if (file.file_path === undefined) {
          return yield* new TelegramError({
            method: "getFile",
            kind: "bad_request",
            status: 400,
            description: "Telegram gave no file_path (the file is too big for bots)",
            retryAfterSeconds: null
          })
        }
        const bytes = yield* fetchFile(token, file.file_path, maxBytes)
        return { bytes, filePath: file.file_path }
      })

      const setMyCommands = traced("setMyCommands")(function* (
        token: Token,
        commands: ReadonlyArray<{ readonly command: string; readonly description: string }>,
        languageCode?: string
      ) {
        const body = languageCode === undefined ? {} : { language_code: languageCode }
        yield* call("setMyCommands", token, (secret, signal) =>
          api.call(secret, "setMyCommands", { commands: [...commands], ...body }, signal)
        )
      })

      /** One poll as the long-poll client takes it: each request's body and how long its answer may take. */
      const longPollOf = (poll: PollOptions) => {
        // The server holds a long poll for up to timeoutSeconds before answering.
        const answerMillis = (timeoutSeconds: number) =>
          Duration.toMillis(Duration.sum(Duration.seconds(timeoutSeconds), requestTimeout))
        const payload = (timeoutSeconds: number) => ({
          offset: poll.offset,
          timeout: timeoutSeconds,
          ...(poll.limit === undefined ? {} : { limit: poll.limit }),
          allowed_updates: ALLOWED_UPDATES
        })
        const repeat = poll.untilUpdates
        return (secret: string, signal: AbortSignal) =>
          longPoll.getUpdates(
            secret,
            payload(poll.timeoutSeconds),
            signal,
            answerMillis(poll.timeoutSeconds),
            repeat === undefined
              ? null
              : { payload: payload(repeat.timeoutSeconds), answerMillis: answerMillis(repeat.timeoutSeconds) }
          )
      }

      // The poll client returns the API's result unchecked: an array is what the port promises.
      const updatesOf = (result: unknown): ReadonlyArray<unknown> => (Array.isArray(result) ? result : [])

      const getUpdates = traced("getUpdates")(function* (token: Token, poll: PollOptions) {
        // Each request of the poll has its own deadline in the client; the call may span many.
        return updatesOf(yield* call("getUpdates", token, longPollOf(poll), null))
      })

      const watchUpdates = (
        token: Token,
        poll: PollOptions,
        onAnswer: (answer: Exit.Exit<ReadonlyArray<unknown>, TelegramError>) => void
      ) => {
        const secret = Redacted.value(token)
        const controller = new AbortController()
        let answered = false
        longPollOf(poll)(secret, controller.signal).then(
          (result) => {
            if (answered) return
            answered = true
            onAnswer(Exit.succeed(updatesOf(result)))
          },
          (cause: unknown) => {
            if (answered) return
            answered = true
            onAnswer(Exit.fail(toTelegramError("getUpdates", cause, secret)))
          }
        )
        return () => {
          if (answered) return
          answered = true
          controller.abort()
        }
      }

      return TelegramGateway.of({
        getMe,
        setWebhook,
        deleteWebhook,
        getWebhookInfo,
        sendMessage,
        sendVoice,
        sendPhoto,
        sendChatAction,
        answerCallbackQuery,
        getUpdates,
        watchUpdates,
        readUpdate,
        readStored: decodeUpdate,
        // conversations
        sendMessageDraft,
        downloadFile,
        setMyCommands
      })
    })
  )
