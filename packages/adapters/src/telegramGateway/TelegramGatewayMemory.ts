/**
 * An in-memory TelegramGateway for use-case tests: it records every call,
 * knows only the bots registered with it (like the real API, any other token
 * is unauthorized), and fails on demand. It never retries, so a test sees
 * exactly the error it scripted.
 */
import {
  type InlineButton,
  type SendMessageInput,
  type TelegramBotInfo,
  TelegramError,
  TelegramGateway,
  type Token,
  type WebhookInfo
} from "@botfleet/application"
import { Context, Deferred, Effect, Exit, Layer, Redacted } from "effect"
import { decodeUpdate, readUpdate } from "./readUpdate.ts"

export type TelegramMethod = keyof TelegramGateway["Service"]

export interface MemorySentMessage {
  readonly botId: number
  readonly chatId: number
  readonly messageId: number
  readonly text: string
  readonly parseMode: SendMessageInput["parseMode"] | null
  readonly replyToMessageId: number | null
  /** The forum topic it went to; absent outside topics. */
  readonly topicId?: number
  /** Its inline keyboard; absent without one. */
  readonly buttons?: ReadonlyArray<ReadonlyArray<InlineButton>>
}

export interface MemorySentPhoto {
  readonly botId: number
  readonly chatId: number
  readonly messageId: number
  readonly bytes: Uint8Array
  readonly fileName: string
  readonly caption: string | null
  readonly replyToMessageId: number | null
}

/** A voice answer's upload (`sendVoice`, or `sendAudio` for another format). */
export interface MemorySentVoice {
  readonly botId: number
  readonly chatId: number
  readonly messageId: number
  readonly as: "voice" | "audio"
  readonly fileName: string
  readonly audio: Uint8Array
  readonly caption: string | null
  readonly parseMode: "Markdown" | null
  readonly replyToMessageId: number | null
  readonly topicId?: number
}

export interface MemoryChatAction {
  readonly botId: number
  readonly chatId: number
  readonly action: string
  readonly topicId?: number
}

/** conversations */
export interface MemoryDraft {
  readonly botId: number
  readonly chatId: number
  readonly draftId: number
  readonly text: string
  readonly topicId?: number
}

export interface MemoryCallbackAnswer {
  readonly botId: number
  readonly callbackQueryId: string
  readonly text: string | null
}

export interface MemoryWebhookEvent {
  readonly botId: number
  readonly type: "set" | "deleted"
  readonly url: string | null
  readonly secretToken: string | null
}

/** `botId` is null when the token was unknown. */
export interface MemoryCall {
  readonly method: TelegramMethod
  readonly botId: number | null
}

export interface MemoryUpdate {
  readonly update_id: number
  readonly [key: string]: unknown
}

/** Scripting and inspection of the in-memory gateway. */
export class TelegramMemoryLog extends Context.Service<
  TelegramMemoryLog,
  {
    readonly registerBot: (token: Token | string, info: TelegramBotInfo) => Effect.Effect<void>
    /** Later calls with this token fail as unauthorized. */
    readonly revokeBot: (token: Token | string) => Effect.Effect<void>
    /** The next `times` calls of `method` fail with `error` (before any other check). */
    readonly failNext: (method: TelegramMethod, error: TelegramError, times?: number) => Effect.Effect<void>
    /** Queues an update for getUpdates, waking a waiting long poll. */
    readonly pushUpdate: (token: Token | string, update: MemoryUpdate) => Effect.Effect<void>
    readonly calls: Effect.Effect<ReadonlyArray<MemoryCall>>
    readonly sentMessages: Effect.Effect<ReadonlyArray<MemorySentMessage>>
    readonly sentTo: (chatId: number) => Effect.Effect<ReadonlyArray<MemorySentMessage>>
    /** Voice notes and audio files sent, in order; they share message ids with `sentMessages`. */
    readonly sentVoices: Effect.Effect<ReadonlyArray<MemorySentVoice>>
    readonly sentPhotos: Effect.Effect<ReadonlyArray<MemorySentPhoto>>
    readonly chatActions: Effect.Effect<ReadonlyArray<MemoryChatAction>>
    readonly callbackAnswers: Effect.Effect<ReadonlyArray<MemoryCallbackAnswer>>
    readonly webhookEvents: Effect.Effect<ReadonlyArray<MemoryWebhookEvent>>
    // conversations
    readonly drafts: Effect.Effect<ReadonlyArray<MemoryDraft>>
    /** The command menu each bot (by Telegram id) was given last, for users of any language. */
    readonly commandMenus: Effect.Effect<ReadonlyMap<number, ReadonlyArray<string>>>
    /** The menus given per language: "<bot id>:<language code>" → the descriptions. */
    readonly languageMenus: Effect.Effect<ReadonlyMap<string, ReadonlyArray<string>>>
    /** A file downloadFile can fetch; any other file id is a 400 "invalid file_id". */
    readonly addFile: (fileId: string, bytes: Uint8Array, filePath?: string) => Effect.Effect<void>
  }
>()("@botfleet/adapters/telegram/TelegramMemoryLog") {}

/** The errors Telegram really answers, for `failNext`. */
export const TelegramErrors = {
  unauthorized: (method: TelegramMethod) =>
    new TelegramError({
      method,
      kind: "unauthorized",
      status: 401,
      description: "Unauthorized",
      retryAfterSeconds: null
    }),
  blocked: (method: TelegramMethod = "sendMessage") =>
    new TelegramError({
      method,
      kind: "forbidden",
      status: 403,
      description: "Forbidden: bot was blocked by the user",
      retryAfterSeconds: null
    }),
  rateLimited: (method: TelegramMethod, retryAfterSeconds: number) =>
    new TelegramError({
      method,
      kind: "rate_limited",
      status: 429,
      description: `Too Many Requests: retry after ${retryAfterSeconds}`,
      retryAfterSeconds
    }),
  unavailable: (method: TelegramMethod) =>
    new TelegramError({
      method,
      kind: "unavailable",
      status: null,
      description: "timed out",
      retryAfterSeconds: null
    }),
  entityParse: (method: TelegramMethod = "sendMessage") =>
    new TelegramError({
      method,
      kind: "bad_request",
      status: 400,
      description:
        "Bad Request: can't parse entities: Can't find end of the entity starting at byte offset 0",
      retryAfterSeconds: null
    }),
  badRequest: (method: TelegramMethod, what: string) =>
    new TelegramError({
      method,
      kind: "bad_request",
      status: 400,
      description: `Bad Request: ${what}`,
      retryAfterSeconds: null
    }),
  emptyText: (method: TelegramMethod = "sendMessage") =>
    new TelegramError({
      method,
      kind: "bad_request",
      status: 400,
      description: "Bad Request: message text is empty",
      retryAfterSeconds: null
    }),
  /** An API server older than Bot API 9.3. */
  methodNotFound: (method: TelegramMethod) =>
    new TelegramError({
      method,
      kind: "not_found",
      status: 404,
      description: "Not Found",
      retryAfterSeconds: null
    }),
  tooLong: (method: TelegramMethod = "sendMessage") =>
    new TelegramError({
      method,
      kind: "bad_request",
      status: 400,
      description: "Bad Request: message is too long",
      retryAfterSeconds: null
    })
}

interface BotState {
  readonly info: TelegramBotInfo
  revoked: boolean
  webhook: { readonly url: string; readonly secretToken: string } | null
  updates: Array<MemoryUpdate>
  readonly waiters: Set<Deferred.Deferred<void>>
}

const secretOf = (token: Token | string): string =>
  typeof token === "string" ? token : Redacted.value(token)

export const layerMemory: Layer.Layer<TelegramGateway | TelegramMemoryLog> = Layer.effectContext(
  Effect.sync(() => {
    const bots = new Map<string, BotState>()
    const faults = new Map<TelegramMethod, Array<TelegramError>>()
    const messageIds = new Map<string, number>()
    const calls: Array<MemoryCall> = []
    const sent: Array<MemorySentMessage> = []
    const voices: Array<MemorySentVoice> = []
    const photos: Array<MemorySentPhoto> = []
    const chatActions: Array<MemoryChatAction> = []
    const callbackAnswers: Array<MemoryCallbackAnswer> = []
    const webhookEvents: Array<MemoryWebhookEvent> = []
    const drafts: Array<MemoryDraft> = []
    const files = new Map<string, { readonly bytes: Uint8Array; readonly filePath: string }>()
    const commandMenus = new Map<number, ReadonlyArray<string>>()
    const languageMenus = new Map<string, ReadonlyArray<string>>()

    /** Records the call, then applies a scripted fault or the token check. */
    const enter = (method: TelegramMethod, token: Token) =>
      Effect.suspend(() => {
        const bot = bots.get(Redacted.value(token))
        calls.push({ method, botId: bot?.info.id ?? null })
        const scripted = faults.get(method)?.shift()
        if (scripted !== undefined) return Effect.fail(scripted)
        if (bot === undefined || bot.revoked) return Effect.fail(TelegramErrors.unauthorized(method))
        return Effect.succeed(bot)
      })

    const gateway = TelegramGateway.of({
      getMe: (token) => Effect.map(enter("getMe", token), (bot) => bot.info),
      setWebhook: (token, options) =>
        Effect.map(enter("setWebhook", token), (bot) => {
          bot.webhook = { url: options.url, secretToken: options.secretToken }
          webhookEvents.push({
            botId: bot.info.id,
            type: "set",
            url: options.url,
            secretToken: options.secretToken
          })
        }),
      deleteWebhook: (token) =>
        Effect.map(enter("deleteWebhook", token), (bot) => {
          bot.webhook = null
          webhookEvents.push({ botId: bot.info.id, type: "deleted", url: null, secretToken: null })
        }),
      getWebhookInfo: (token) =>
        Effect.map(
          enter("getWebhookInfo", token),
          (bot): WebhookInfo => ({
            url: bot.webhook?.url ?? "",
            pendingUpdateCount: bot.updates.length,
            lastErrorMessage: null,
            lastErrorDate: null
          })
        ),
      sendMessage: (token, input) =>
        Effect.flatMap(enter("sendMessage", token), (bot) => {
          // Checked like the real API, so chunking mistakes show up in use-case tests.
          if (input.text.length === 0) return Effect.fail(TelegramErrors.emptyText("sendMessage"))
          if (input.text.length > 4096) return Effect.fail(TelegramErrors.tooLong("sendMessage"))
          const key = `${bot.info.id}:${input.chatId}`
          const messageId = (messageIds.get(key) ?? 0) + 1
          messageIds.set(key, messageId)
          sent.push({
            botId: bot.info.id,
            chatId: input.chatId,
            messageId,
            text: input.text,
            parseMode: input.parseMode ?? null,
            replyToMessageId: input.replyToMessageId ?? null,
            ...(input.topicId == null ? {} : { topicId: input.topicId }),
            ...(input.buttons === undefined ? {} : { buttons: input.buttons })
          })
          return Effect.succeed({ messageId })
        }),
      sendVoice: (token, input) =>
        Effect.flatMap(enter("sendVoice", token), (bot) => {
          if (input.audio.length === 0)
            return Effect.fail(TelegramErrors.badRequest("sendVoice", "file is empty"))
          if ((input.caption?.length ?? 0) > 1024)
            return Effect.fail(TelegramErrors.badRequest("sendVoice", "message caption is too long"))
          const key = `${bot.info.id}:${input.chatId}`
          const messageId = (messageIds.get(key) ?? 0) + 1
          messageIds.set(key, messageId)
          voices.push({
            botId: bot.info.id,
            chatId: input.chatId,
            messageId,
            as: input.as,
            fileName: input.fileName,
            audio: input.audio,
            caption: input.caption ?? null,
            parseMode: input.parseMode ?? null,
            replyToMessageId: input.replyToMessageId ?? null,
            ...(input.topicId == null ? {} : { topicId: input.topicId })
          })
          return Effect.succeed({ messageId })
        }),
      sendPhoto: (token, input) =>
        Effect.map(enter("sendPhoto", token), (bot) => {
          const key = `${bot.info.id}:${input.chatId}`
          const messageId = (messageIds.get(key) ?? 0) + 1
          messageIds.set(key, messageId)
          photos.push({
            botId: bot.info.id,
            chatId: input.chatId,
            messageId,
            bytes: input.photo,
            fileName: input.fileName,
            caption: input.caption ?? null,
            replyToMessageId: input.replyToMessageId ?? null
          })
          return { messageId }
        }),
      sendChatAction: (token, chatId, action, topicId) =>
        Effect.map(enter("sendChatAction", token), (bot) => {
          chatActions.push({ botId: bot.info.id, chatId, action, ...(topicId == null ? {} : { topicId }) })
        }),
      answerCallbackQuery: (token, callbackQueryId, text) =>
        Effect.map(enter("answerCallbackQuery", token), (bot) => {
          callbackAnswers.push({ botId: bot.info.id, callbackQueryId, text: text ?? null })
        }),
      // conversations: checked like the real API.
      sendMessageDraft: (token, input) =>
        Effect.flatMap(enter("sendMessageDraft", token), (bot) => {
          if (input.draftId === 0 || input.text.length === 0 || input.text.length > 4096) {
            return Effect.fail(
              new TelegramError({
                method: "sendMessageDraft",
                kind: "bad_request",
                status: 400,
                description: "Bad Request: invalid draft",
                retryAfterSeconds: null
              })
            )
          }
          drafts.push({
            botId: bot.info.id,
            chatId: input.chatId,
            draftId: input.draftId,
            text: input.text,
            ...(input.topicId == null ? {} : { topicId: input.topicId })
          })
          return Effect.void
        }),
      setMyCommands: (token, commands, languageCode) =>
        Effect.map(enter("setMyCommands", token), (bot) => {
          if (languageCode !== undefined) {
            languageMenus.set(
              `${bot.info.id}:${languageCode}`,
              commands.map((entry) => entry.description)
            )
            return
          }
          commandMenus.set(
            bot.info.id,
            commands.map((entry) => entry.command)
          )
        }),
      downloadFile: (token, fileId, maxBytes) =>
        Effect.flatMap(enter("downloadFile", token), () => {
          const file = files.get(fileId)
          const refused = (description: string) =>
            Effect.fail(
              new TelegramError({
                method: "downloadFile",
                kind: "bad_request",
                status: 400,
                description,
                retryAfterSeconds: null
              })
            )
          if (file === undefined) return refused("Bad Request: invalid file_id")
          if (file.bytes.length > maxBytes) return refused("Bad Request: file is too big")
          return Effect.succeed(file)
        }),
      readUpdate,
      readStored: decodeUpdate,
      watchUpdates: (token, options, onAnswer) => {
        // A fiber here: the twin's polls are few, and this keeps one implementation of a poll.
        const fiber = Effect.runFork(gateway.getUpdates(token, options))
        let answered = false
        fiber.addObserver((exit) => {
          if (answered || Exit.hasInterrupts(exit)) return
          answered = true
          onAnswer(exit)
        })
        return () => {
          answered = true
          fiber.interruptUnsafe()
        }
      },
      getUpdates: (token, options) =>
        Effect.flatMap(enter("getUpdates", token), (bot) => {
          // An offset confirms every update below it.
          bot.updates = bot.updates.filter((update) => update.update_id >= options.offset)
          const available = Effect.sync(
            (): ReadonlyArray<unknown> => bot.updates.slice(0, options.limit ?? 100)
          )
          if (bot.updates.length > 0 || options.timeoutSeconds <= 0) return available
          // Hold like a long poll, on the Effect clock so TestClock drives it.
          const pushed = Deferred.makeUnsafe<void>()
          bot.waiters.add(pushed)
          return Effect.raceFirst(
            Deferred.await(pushed),
            Effect.sleep(`${options.timeoutSeconds} seconds`)
          ).pipe(
            Effect.ensuring(Effect.sync(() => bot.waiters.delete(pushed))),
            Effect.andThen(available),
            // Like the HTTP client: an empty answer is asked again, each time a call Telegram counts.
            Effect.flatMap((updates) =>
              updates.length === 0 && options.untilUpdates !== undefined
                ? gateway.getUpdates(token, {
                    ...options,
                    timeoutSeconds: options.untilUpdates.timeoutSeconds
                  })
                : Effect.succeed(updates)
            )
          )
        })
    })

    const botOf = (token: Token | string): BotState => {
      const bot = bots.get(secretOf(token))
      // A test that scripts an unregistered bot is wrong: fail it loudly.
      if (bot === undefined) throw new Error("TelegramMemoryLog: register the bot first")
      return bot
    }

    const log = TelegramMemoryLog.of({
      registerBot: (token, info) =>
        Effect.sync(() => {
          bots.set(secretOf(token), { info, revoked: false, webhook: null, updates: [], waiters: new Set() })
        }),
      revokeBot: (token) =>
        Effect.sync(() => {
          botOf(token).revoked = true
        }),
      failNext: (method, error, times = 1) =>
        Effect.sync(() => {
          const queue = faults.get(method) ?? []
          for (let i = 0; i < times; i++) queue.push(error)
          faults.set(method, queue)
        }),
      pushUpdate: (token, update) =>
        Effect.sync(() => {
          const bot = botOf(token)
          bot.updates.push(update)
          for (const waiter of bot.waiters) Deferred.doneUnsafe(waiter, Effect.void)
        }),
      calls: Effect.sync(() => [...calls]),
      sentMessages: Effect.sync(() => [...sent]),
      sentTo: (chatId) => Effect.sync(() => sent.filter((message) => message.chatId === chatId)),
      sentVoices: Effect.sync(() => [...voices]),
      sentPhotos: Effect.sync(() => [...photos]),
      chatActions: Effect.sync(() => [...chatActions]),
      callbackAnswers: Effect.sync(() => [...callbackAnswers]),
      webhookEvents: Effect.sync(() => [...webhookEvents]),
      drafts: Effect.sync(() => [...drafts]),
      commandMenus: Effect.sync(() => new Map(commandMenus)),
      languageMenus: Effect.sync(() => new Map(languageMenus)),
      addFile: (fileId, bytes, filePath = `voice/${fileId}.oga`) =>
        Effect.sync(() => {
          files.set(fileId, { bytes, filePath })
        })
    })

    return Context.make(TelegramGateway, gateway).pipe(Context.add(TelegramMemoryLog, log))
  })
)
