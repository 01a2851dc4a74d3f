/**
 * Step 4: a stored message goes out part by part (its text's chunks; a spoken
 * reply's voice note first); a part recorded as sent is never sent again, so
 * a rerun repeats at most the one call in flight. Replies, the bot's error
 * messages and admins' messages all leave here.
 *
 * A spoken reply's speech is made right before its voice note is sent, and
 * its cost is added to the reply in the write that records the note as sent:
 * counted once, with the note it paid for. A crash between the two makes
 * speech again (its cost unrecorded, never sent twice but for the one upload
 * in flight, as any chunk). Speech that cannot be made turns the reply into
 * text, and it goes out as text: never no reply.
 */
import {
  type Bot,
  type Chat,
  ChatModel,
  type Message,
  type MessageId,
  MessageModel,
  type MessageNotFound,
  replyParts,
  speakableText
} from "@botfleet/domain"
import { Clock, Context, Effect, Layer, Option } from "effect"
import { BotAccess } from "../bots/BotAccess.ts"
import * as Metrics from "../observability/metrics.ts"
import { spanFn } from "../observability/spanFn.ts"
import { ChatRepository, MessageRepository } from "../ports/Repositories.ts"
import { SpeechSynthesizer } from "../ports/SpeechSynthesizer.ts"
import {
  type InlineButton,
  type TelegramError,
  TelegramGateway,
  type Token
} from "../ports/TelegramGateway.ts"
import { ProviderAccess } from "../providers/ProviderAccess.ts"
import { matchTelegramFailure } from "./failures.ts"
import { ensureLeaseHeld } from "./leaseHeld.ts"
import { type BotUnavailable, type LeaseLost, Paced, type RetryLater } from "./PipelineErrors.ts"
import { SendBudget } from "./sendBudget.ts"

/** Why a reply did not (all) go out now. */
type SendFailure = RetryLater | BotUnavailable | Paced | LeaseLost

export class SendReply extends Context.Service<
  SendReply,
  {
    /**
     * Sends what is left of `message`; returns it as stored afterwards (sent,
     * or failed with the reason). "wait" sleeps through the send budget;
     * "pace" (a chat's drain) fails with `Paced` when the wait is long or
     * Telegram answers 429, so the chat is handed back until then.
     */
    readonly send: (
      bot: Bot,
      token: Token,
      chat: Chat,
      message: Message,
      pacing?: "wait" | "pace",
      /** Inline buttons (rows) under the last text chunk: /mode's personas, /memory's notes; not stored, made again on a rerun. */
      buttons?: ReadonlyArray<ReadonlyArray<InlineButton>> | undefined
    ) => Effect.Effect<Message, SendFailure>
    /** Sends (the rest of) a stored message by id, e.g. one an admin wrote; safe to repeat. */
    readonly deliver: (
      messageId: MessageId
    ) => Effect.Effect<void, RetryLater | BotUnavailable | MessageNotFound>
    /** Answers a callback button (or it keeps spinning); an old or answered query is fine. */
    readonly answerCallback: (
      bot: Bot,
      token: Token,
      callbackQueryId: string,
      /** A notice Telegram shows the presser for a moment. */
      text?: string
    ) => Effect.Effect<void, RetryLater | BotUnavailable>
  }
>()("@botfleet/application/SendReply") {
  static readonly layer = Layer.effect(
    SendReply,
    Effect.gen(function* () {
      const fn = yield* spanFn
      const access = yield* BotAccess
      const chats = yield* ChatRepository
      const messages = yield* MessageRepository
      const telegram = yield* TelegramGateway
      const budget = yield* SendBudget
      const speech = yield* SpeechSynthesizer
      const providers = yield* ProviderAccess

      /** Sends one chunk, falling back to plain text when Telegram cannot parse the formatting. */
      const sendChunk = (
        token: Token,
        chatId: number,
        text: string,
        formatted: boolean,
        place: {
          readonly topicId: number | null
          readonly replyToMessageId: number | undefined
          readonly buttons?: ReadonlyArray<ReadonlyArray<InlineButton>> | undefined
        }
      ) =>
        telegram
          .sendMessage(token, { chatId, text, parseMode: formatted ? "Markdown" : undefined, ...place })
          .pipe(
            Effect.catchIf(
              (error: TelegramError) => formatted && error.isEntityParseError,
              () => telegram.sendMessage(token, { chatId, text, ...place })
            )
          )

      /**
       * In groups an answer quotes the message it answers, so readers see whom
       * it is for among many speakers; a private chat has only one.
       */
      const quotedIn = Effect.fnUntraced(function* (chat: Chat, message: Message) {
        if (message.replyTo === null || (chat.type !== "group" && chat.type !== "supergroup"))
          return undefined
        const question = yield* messages.findById(message.replyTo).pipe(Effect.option)
        return Option.getOrUndefined(question)?.telegramMessageIds[0]
      })

      /**
       * The reply's speech, on the bot's provider, with "recording a voice
       * message…" shown meanwhile; none when it cannot be made (logged).
       */
      const speak = fn("Pipeline.speakReply")(function* (
        bot: Bot,
        token: Token,
        chat: Chat,
        message: Message
      ) {
        yield* telegram
          .sendChatAction(token, chat.telegramChatId, "record_voice", message.topicId)
          .pipe(Effect.ignore)
        return yield* providers.modelFor(bot).pipe(
          Effect.flatMap((choice) =>
            speech.synthesize({
              model: bot.speechModel,
              voice: bot.speechVoice,
              input: speakableText(message.text),
              endpoint: choice.endpoint
            })
          ),
          Effect.tap((made) =>
            Effect.all([
              Metrics.count(Metrics.speechRequests, { model: made.model, outcome: "ok" }),
              Metrics.count(
                Metrics.speechCharacters,
                { model: made.model },
                speakableText(message.text).length
              )
            ])
          ),
          Effect.map(Option.some),
          Effect.tapError(() =>
            Metrics.count(Metrics.speechRequests, { model: bot.speechModel, outcome: "error" })
          ),
          Effect.catchTags({
            SpeechError: (error) => Effect.succeed(error.message),
            LlmError: (error) => Effect.succeed(error.message)
          }),
          Effect.flatMap((result) =>
            typeof result === "string"
              ? Effect.as(
                  Effect.logWarning("voice answer not spoken; sent as text", {
                    bot_id: bot.id,
                    chat_id: chat.id,
                    reason: result
                  }),
                  Option.none()
                )
              : Effect.succeed(result)
          )
        )
      })

      /** A voice note with its caption, falling back to a plain caption when Telegram cannot parse it. */
      const sendVoiceNote = (
        token: Token,
        chatId: number,
        spoken: { readonly audio: Uint8Array; readonly fileName: string; readonly format: string },
        caption: string | null,
        formatted: boolean,
        place: { readonly topicId: number | null; readonly replyToMessageId: number | undefined }
      ) => {
        const input = {
          chatId,
          audio: spoken.audio,
          fileName: spoken.fileName,
          as: spoken.format === "ogg_opus" ? ("voice" as const) : ("audio" as const),
          ...(caption === null ? {} : { caption }),
          ...place
        }
        return telegram
          .sendVoice(token, {
            ...input,
            ...(formatted && caption !== null ? { parseMode: "Markdown" as const } : {})
          })
          .pipe(
            Effect.catchIf(
              (error: TelegramError) => formatted && error.isEntityParseError,
              () => telegram.sendVoice(token, input)
            ),
            Effect.map((result) => ({ ok: true as const, sent: Effect.succeed(result) })),
            Effect.catchIf(
              // A 400 (the user forbids voice messages, the audio is refused): the text still goes.
              (error: TelegramError) => error.kind === "bad_request",
              (error) => Effect.succeed({ ok: false as const, error }),
              (error) => Effect.succeed({ ok: true as const, sent: Effect.fail(error) })
            )
          )
      }

      /** Blocked by the user, kicked from the group, or a request Telegram refuses: not retried. */
      const recordUndelivered = fn("Pipeline.recordUndelivered")(function* (
        bot: Bot,
        chat: Chat,
        message: Message,
        error: TelegramError
      ) {
        const reason = error.message
        const failed = MessageModel.failed(message, reason)
        yield* messages.update(failed).pipe(Effect.orDie)
        if (error.kind === "forbidden") {
          // Read it again: /refresh may have moved the thread since this copy was loaded.
          const current = yield* chats.findById(chat.id).pipe(Effect.orDie)
          yield* chats.update(new ChatModel.Chat({ ...current, lastError: reason })).pipe(Effect.orDie)
        }
        yield* Effect.logWarning("reply not delivered", { bot_id: bot.id, chat_id: chat.id, reason })
        return failed
      })

      const send: (
        bot: Bot,
        token: Token,
        chat: Chat,
        stored: Message,
        pacing?: "wait" | "pace",
        buttons?: ReadonlyArray<ReadonlyArray<InlineButton>> | undefined
      ) => Effect.Effect<Message, SendFailure> = fn("Pipeline.ensureResponseSent")(function* (
        bot: Bot,
        token: Token,
        chat: Chat,
        stored: Message,
        pacing: "wait" | "pace" = "wait",
        buttons?: ReadonlyArray<ReadonlyArray<InlineButton>> | undefined
      ) {
        let message = stored
        const parts = replyParts(message)
        // Model output is usually Markdown; our own texts are sent as written.
        const formatted = message.model !== null
        const quote = message.chunksSent === 0 ? yield* quotedIn(chat, message) : undefined
        for (let index = message.chunksSent; index < parts.length; index++) {
          const part = parts[index]!
          yield* pacing === "pace"
            ? budget.takeOrPace(bot.id, chat.telegramChatId, chat.type)
            : budget.take(bot.id, chat.telegramChatId, chat.type)
          // A process that lost the chat meanwhile stops here: the new owner sends this part.
          yield* ensureLeaseHeld
          // After the budget's turn: a chat handed back for pacing has paid for no speech.
          const spoken = part._tag === "Voice" ? yield* speak(bot, token, chat, message) : Option.none()
          const place = {
            topicId: message.topicId,
            // Only the first part quotes: the rest follow it.
            replyToMessageId: index === 0 ? quote : undefined
          }
          const voiced =
            part._tag === "Voice" && Option.isSome(spoken)
              ? yield* sendVoiceNote(token, chat.telegramChatId, spoken.value, part.caption, formatted, place)
              : undefined
          if (part._tag === "Voice" && (Option.isNone(spoken) || voiced?.ok === false)) {
            if (voiced?.ok === false) {
              yield* Metrics.count(Metrics.speechRequests, { model: bot.speechModel, outcome: "refused" })
              yield* Effect.logWarning("voice note refused; sent as text", {
                bot_id: bot.id,
                chat_id: chat.id,
                reason: voiced.error.message
              })
            }
            // The voice note is always the first part: the text goes out whole in its place.
            message = MessageModel.spokenAsText(message, Option.isSome(spoken) ? spoken.value.costUsd : 0)
            yield* messages.update(message).pipe(Effect.orDie)
            return yield* send(bot, token, chat, message, pacing, buttons)
          }
          const sent = yield* (
            voiced?.ok === true
              ? voiced.sent
              : sendChunk(
                  token,
                  chat.telegramChatId,
                  part._tag === "Text" ? part.text : "",
                  formatted,
                  buttons !== undefined && index === parts.length - 1 ? { ...place, buttons } : place
                )
          ).pipe(
            Effect.tap((result) =>
              result.rateLimitedSeconds === undefined
                ? Effect.void
                : budget.refused(bot.id, chat.telegramChatId, chat.type, result.rateLimitedSeconds)
            ),
            Effect.tapError((error) =>
              error.kind === "rate_limited"
                ? budget.refused(bot.id, chat.telegramChatId, chat.type, error.retryAfterSeconds)
                : Effect.void
            ),
            Effect.tapError(() => Metrics.count(Metrics.messagesSent, { bot: bot.id, outcome: "error" })),
            Effect.map((result) => ({ ok: true as const, messageId: result.messageId })),
            Effect.catchTag(
              "TelegramError",
              (
                error
              ): Effect.Effect<
                { readonly ok: false; readonly error: TelegramError },
                RetryLater | BotUnavailable | Paced
              > => {
                return matchTelegramFailure(error, {
                  stopBot: (reason) =>
                    // The reply will not go out: admins see it failed (and can retry it after fixing the token).
                    messages
                      .update(MessageModel.failed(message, reason))
                      .pipe(Effect.orDie, Effect.andThen(access.stop(bot, reason))),
                  retry: (later) =>
                    // A 429 is pacing, not a failure: the chat comes back after retry_after, uncounted.
                    pacing === "pace" && error.kind === "rate_limited"
                      ? Effect.flatMap(Clock.currentTimeMillis, (now) =>
                          Effect.fail(
                            new Paced({
                              until: now + Math.max(1, error.retryAfterSeconds ?? 1) * 1000,
                              reason: error.message
                            })
                          )
                        )
                      : Effect.fail(later),
                  giveUp: (error) => Effect.succeed({ ok: false as const, error })
                })
              }
            )
          )
          if (!sent.ok) return yield* recordUndelivered(bot, chat, message, sent.error)
          yield* Metrics.count(Metrics.messagesSent, { bot: bot.id, outcome: "ok" })
          const at = new Date(yield* Clock.currentTimeMillis)
          message = Option.isSome(spoken)
            ? MessageModel.voiceSent(message, sent.messageId, parts.length, spoken.value.costUsd, at)
            : MessageModel.chunkSent(message, sent.messageId, parts.length, at)
          yield* messages.update(message).pipe(Effect.orDie)
        }
        return message
      })

      const deliver = fn("SendReply.deliver")(function* (messageId: MessageId) {
        const message = yield* messages.findById(messageId)
        if (message.chunksSent >= replyParts(message).length) return
        const { bot, token } = yield* access.loadForDelivery(message.botId)
        const chat = yield* chats.findById(message.chatId).pipe(Effect.orDie)
        // Waits through the budget: `Paced` comes only from "pace". Outside a chat's drain no lease
        // is held, so `LeaseLost` cannot happen here either.
        yield* send(bot, token, chat, message).pipe(
          Effect.catchTags({ Paced: Effect.die, LeaseLost: Effect.die })
        )
      })

      const answerCallback = fn("Pipeline.answerCallback")(function* (
        bot: Bot,
        token: Token,
        callbackQueryId: string,
        text?: string
      ) {
        yield* telegram.answerCallbackQuery(token, callbackQueryId, text).pipe(
          Effect.catchTag("TelegramError", (error) =>
            matchTelegramFailure(error, {
              stopBot: (reason) => access.stop(bot, reason),
              retry: Effect.fail,
              // A query answered before (a rerun) or too old is a 400: nothing left to do.
              giveUp: () => Effect.void
            })
          )
        )
      })

      return SendReply.of({ send, deliver, answerCallback })
    })
  )
}
