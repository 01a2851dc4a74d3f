/**
 * The Telegram Bot API as the application needs it. Every call takes the bot's
 * token (decrypted, still `Redacted`); the adapter keeps one client per bot.
 */
import type { IncomingUpdate } from "@botfleet/domain"
import { Context, type Effect, type Exit, type Redacted, Schema } from "effect"

/**
 * How the pipeline treats each kind is decided in one place,
 * pipeline/failures.ts: unauthorized (401, the token is rejected) stops the
 * bot; rate_limited (429) and unavailable (5xx, timeouts, resets) are worth
 * retrying; forbidden (403: the user blocked the bot, or the bot was removed
 * from the group), not_found and bad_request (400, a mistake in the request)
 * are not, and a forbidden send marks the chat's last error.
 */
export const TelegramErrorKind = Schema.Literals([
  "unauthorized",
  "forbidden",
  "not_found",
  "rate_limited",
  "bad_request",
  "unavailable"
])
export type TelegramErrorKind = typeof TelegramErrorKind.Type

export class TelegramError extends Schema.TaggedError<TelegramError>()("TelegramError", {
  method: Schema.String,
  kind: TelegramErrorKind,
  /** Telegram's `error_code` (or the HTTP status); null when no answer came. */
  status: Schema.NullOr(Schema.Int),
  description: Schema.String,
  /** From a 429's `parameters.retry_after`. */
  retryAfterSeconds: Schema.NullOr(Schema.Number)
}) {
  override get message() {
    return `Telegram ${this.method} failed (${this.status ?? "no answer"}): ${this.description}`
  }
  get isRetryable(): boolean {
    return this.kind === "rate_limited" || this.kind === "unavailable"
  }
  /** A 400 "can't parse entities": resend the same text without formatting. */
  get isEntityParseError(): boolean {
    return (
      this.kind === "bad_request" &&
      /can't parse entities|can't find end of the entity/i.test(this.description)
    )
  }
}

/** An incoming update, read once where it enters: what to store, and what it means. */
export interface ReceivedUpdate {
  /** Undefined when the payload has no whole, non-negative `update_id`. */
  readonly updateId: number | undefined
  /** The payload made storable (see `admitUpdate`): stored as it came otherwise. */
  readonly payload: unknown
  /** Why the update can never be processed, or null. */
  readonly problem: string | null
  readonly update: IncomingUpdate
}

export interface TelegramBotInfo {
  readonly id: number
  readonly username: string
  readonly firstName: string
}

export interface WebhookInfo {
  readonly url: string
  readonly pendingUpdateCount: number
  readonly lastErrorMessage: string | null
  readonly lastErrorDate: Date | null
}

/** An inline keyboard button: pressing it sends `data` back as a button press (at most 64 bytes). */
export interface InlineButton {
  readonly text: string
  readonly data: string
}

export interface SendMessageInput {
  readonly chatId: number
  readonly text: string
  /** Omit for plain text. */
  readonly parseMode?: "Markdown" | "MarkdownV2" | "HTML" | undefined
  readonly replyToMessageId?: number | undefined
  /** The forum topic to post in (`message_thread_id`); omit outside topics. */
  readonly topicId?: number | null | undefined
  /** Rows of inline buttons under the message; omit for none. */
  readonly buttons?: ReadonlyArray<ReadonlyArray<InlineButton>> | undefined
}

/** A photo to send, as bytes (uploaded), replying to a message. */
export interface SendPhotoInput {
  readonly chatId: number
  readonly photo: Uint8Array
  /** e.g. "image.png": Telegram reads the type from the upload. */
  readonly fileName: string
  readonly caption?: string | undefined
  readonly replyToMessageId?: number | undefined
  readonly topicId?: number | null | undefined
}

/** A spoken answer, uploaded (multipart) as a voice note or, in another format, an audio file. */
export interface SendVoiceInput {
  readonly chatId: number
  readonly audio: Uint8Array
  /** With its extension, e.g. `answer.ogg`. */
  readonly fileName: string
  /** voice: `sendVoice` (OGG/Opus, shown as a voice note); audio: `sendAudio` (MP3, WAV...). */
  readonly as: "voice" | "audio"
  /** At most 1,024 characters; omit for none. */
  readonly caption?: string | undefined
  readonly parseMode?: "Markdown" | undefined
  readonly replyToMessageId?: number | undefined
  readonly topicId?: number | null | undefined
}

export type Token = Redacted.Redacted<string>

/** A private chat's growing answer, shown until the final message is sent. */
export interface MessageDraftInput {
  readonly chatId: number
  /** Non-zero; drafts with the same id replace each other. */
  readonly draftId: number
  /** 1–4096 characters, plain text. */
  readonly text: string
  /** The forum topic of a private chat with topics. */
  readonly topicId?: number | null | undefined
}

/** One long poll (`getUpdates`, `watchUpdates`). */
export interface PollOptions {
  readonly offset: number
  readonly timeoutSeconds: number
  readonly limit?: number | undefined
  /**
   * Poll again (holding `timeoutSeconds` each time) while the answers are empty, and
   * return the first updates: a bot at rest then costs its poller nothing between two
   * Telegram answers.
   */
  readonly untilUpdates?: { readonly timeoutSeconds: number } | undefined
}

export class TelegramGateway extends Context.Service<
  TelegramGateway,
  {
    readonly getMe: (token: Token) => Effect.Effect<TelegramBotInfo, TelegramError>
    readonly setWebhook: (
      token: Token,
      options: { readonly url: string; readonly secretToken: string }
    ) => Effect.Effect<void, TelegramError>
    readonly deleteWebhook: (token: Token) => Effect.Effect<void, TelegramError>
    readonly getWebhookInfo: (token: Token) => Effect.Effect<WebhookInfo, TelegramError>
    /**
     * `rateLimitedSeconds`: the adapter met 429s on the way and waited this
     * long before the message went out (the send budget learns from it).
     */
    readonly sendMessage: (
      token: Token,
      input: SendMessageInput
    ) => Effect.Effect<{ readonly messageId: number; readonly rateLimitedSeconds?: number }, TelegramError>
    /** Not retried when no answer came, as sendMessage: Telegram may have posted it. */
    readonly sendVoice: (
      token: Token,
      input: SendVoiceInput
    ) => Effect.Effect<{ readonly messageId: number; readonly rateLimitedSeconds?: number }, TelegramError>
    /** `sendPhoto` with the bytes as a multipart upload; never retried once sent (a second photo would show). */
    readonly sendPhoto: (
      token: Token,
      input: SendPhotoInput
    ) => Effect.Effect<{ readonly messageId: number }, TelegramError>
    readonly sendChatAction: (
      token: Token,
      chatId: number,
      action: "typing" | "record_voice",
      /** The forum topic the answer is being written for. */
      topicId?: number | null | undefined
    ) => Effect.Effect<void, TelegramError>
    readonly answerCallbackQuery: (
      token: Token,
      callbackQueryId: string,
      text?: string | undefined
    ) => Effect.Effect<void, TelegramError>
    /**
     * Bot API `sendMessageDraft`. Ephemeral, so never retried: the next draft
     * (or the final message) replaces it anyway.
     */
    readonly sendMessageDraft: (token: Token, input: MessageDraftInput) => Effect.Effect<void, TelegramError>
    /**
     * `getFile`, then the bytes from `<api root>/file/bot<token>/<file_path>`.
     * A file over `maxBytes` is refused (bad_request) without downloading the
     * rest; a missing one is not_found.
     */
    readonly downloadFile: (
      token: Token,
      fileId: string,
      maxBytes: number
    ) => Effect.Effect<{ readonly bytes: Uint8Array; readonly filePath: string }, TelegramError>
    /**
     * The command menu shown when a user types "/": for users whose Telegram
     * language is `languageCode` (a two-letter code), or for all others when none.
     */
    readonly setMyCommands: (
      token: Token,
      commands: ReadonlyArray<{ readonly command: string; readonly description: string }>,
      languageCode?: string
    ) => Effect.Effect<void, TelegramError>
    /** Long polling: raw update objects, as Telegram sent them. */
    readonly getUpdates: (
      token: Token,
      options: PollOptions
    ) => Effect.Effect<ReadonlyArray<unknown>, TelegramError>
    /**
     * The same polls as `getUpdates` without a fiber waiting on them, for a fleet of bots at
     * rest: `onAnswer` is called once, with the first updates or the failure (not retried:
     * the caller backs off). The function returned lets go of the poll; `onAnswer` is then
     * never called. With 10,000 bots a fiber held per poll was most of the poller's memory.
     */
    readonly watchUpdates: (
      token: Token,
      options: PollOptions,
      onAnswer: (answer: Exit.Exit<ReadonlyArray<unknown>, TelegramError>) => void
    ) => () => void
    /**
     * Decodes an incoming update (a webhook body, a polled update, or one read
     * back from the inbox) into the domain's value. Pure: the one schema pass
     * an update gets per place it enters.
     */
    readonly readUpdate: (body: unknown) => ReceivedUpdate
    /**
     * The same decode for a payload read back from the inbox, which was made
     * storable when it came: no second pass over its strings.
     */
    readonly readStored: (payload: unknown, updateId: number) => IncomingUpdate
  }
>()("@botfleet/application/TelegramGateway") {}
