/**
 * Steps 2 and 3: decide the answer (`planReply`), make it (a fixed text, a
 * new thread, or the model), and store it before anything is sent. The
 * insert is idempotent on reply_to: a rerun gets the stored reply back.
 */
import { randomUUID } from "node:crypto"
import {
  type Bot,
  type Chat,
  ChatModel,
  hasLimits,
  type IncomingContent,
  limitText,
  llmRole,
  type Message,
  MessageId,
  MessageModel,
  PHOTO_UNREADABLE_REPLY,
  planReply,
  type ReplyPlan,
  speakerText,
  type Usage,
  usageText,
  windowStart
} from "@botfleet/domain"
import { Clock, Context, Effect, Layer, Option, Schedule } from "effect"
import * as Metrics from "../observability/metrics.ts"
import { spanFn } from "../observability/spanFn.ts"
import { type ChatTurn, LanguageModel } from "../ports/LanguageModel.ts"
import { ChatRepository, EffectOutbox, MessageRepository, Transactions } from "../ports/Repositories.ts"
import { TelegramGateway, type Token } from "../ports/TelegramGateway.ts"
import { Transcriber } from "../ports/Transcriber.ts"
import { UsageLedger } from "../ports/UsageLedger.ts"
import { ProviderAccess } from "../providers/ProviderAccess.ts"
import { classifyLlm, retryLater } from "./failures.ts"
import { makeLoadPhoto } from "./loadPhoto.ts"
import type { BotUnavailable, Paced, RetryLater } from "./PipelineErrors.ts"
import { ProviderPacing, providerKey } from "./providerPacing.ts"
import { makeStreamAnswer } from "./streamAnswer.ts"
import { timed } from "./timed.ts"
import { TranscribeRecording } from "./transcribeRecording.ts"

/** Replies faster than this show no "typing…". */
export const TYPING_AFTER = "750 millis"

export class GenerateReply extends Context.Service<
  GenerateReply,
  {
    /** The stored reply to `incoming`, made now; none when the plan is to ignore it. */
    readonly generate: (
      bot: Bot,
      token: Token,
      chat: Chat,
      incoming: Message,
      content: IncomingContent
    ) => Effect.Effect<Option.Option<Message>, RetryLater | BotUnavailable | Paced>
    /**
     * A failure we will not retry: the bot's error message is stored as a
     * failed reply (to be sent), and admins get `notice`.
     */
    readonly saveFailed: (
      bot: Bot,
      chat: Chat,
      incoming: Message,
      reason: string,
      notice: string
    ) => Effect.Effect<Message>
  }
>()("@botfleet/application/GenerateReply") {
  static readonly layer = Layer.effect(
    GenerateReply,
    Effect.gen(function* () {
      const fn = yield* spanFn
      const chats = yield* ChatRepository
      const messages = yield* MessageRepository
      const outbox = yield* EffectOutbox
      const transactions = yield* Transactions
      const telegram = yield* TelegramGateway
      const llm = yield* LanguageModel
      const providers = yield* ProviderAccess
      const ledger = yield* UsageLedger
      const pacing = yield* ProviderPacing
      const streamAnswer = yield* makeStreamAnswer
      const loadPhoto = yield* makeLoadPhoto
      const recordings = yield* TranscribeRecording
      const limits = { voiceMaxSeconds: (yield* Transcriber).maxSeconds }

      const newReply = (incoming: Message, text: string, usage?: Usage) =>
        Effect.map(Clock.currentTimeMillis, (now) =>
          MessageModel.reply(incoming, {
            id: MessageId.make(randomUUID()),
            text,
            at: new Date(now),
            ...(usage === undefined ? {} : { usage })
          })
        )

      const save = fn("Pipeline.ensureResponseSaved")((reply: Message) =>
        timed("response_saved", messages.insert(reply))
      )

      const notifyAdmins = (bot: Bot, chat: Chat, message: string) =>
        outbox.enqueue([{ _tag: "NotifyAdmins", botId: bot.id, chatId: chat.id, message }])

      /** Shows "typing…" while the model thinks; Telegram clears it after ~5 s, so it is repeated. */
      const whileTyping = <A, E, R>(token: Token, chatId: number, effect: Effect.Effect<A, E, R>) =>
        Effect.scoped(
          Effect.gen(function* () {
            yield* Effect.forkScoped(
              telegram
                .sendChatAction(token, chatId, "typing")
                .pipe(Effect.ignore, Effect.repeat(Schedule.spaced("4 seconds")), Effect.delay(TYPING_AFTER)),
              // The clock starts now; a model that answers within TYPING_AFTER needs no indicator.
              { startImmediately: true }
            )
            return yield* effect
          })
        )

      const askModel = fn("Pipeline.askModel")(function* (
        bot: Bot,
        token: Token,
        chat: Chat,
        incoming: Message,
        image: string | null,
        caption: string
      ) {
        const history = yield* messages.history(chat.id, chat.thread, Math.max(bot.historyLimit, 1))
        const turns: Array<ChatTurn> = []
        if (bot.systemPrompt.trim() !== "") turns.push({ role: "system", content: bot.systemPrompt })
        for (const message of history) {
          const role = llmRole(message.role)
          // The photo being answered goes as an image with its caption; earlier ones stay placeholders.
          const current = image !== null && message.id === incoming.id
          const text = current ? caption : message.text
          const content = role === "user" ? speakerText(chat.type, message.senderName, text) : text
          turns.push(current ? { role, content, images: [image] } : { role, content })
        }
        // providers (issue 12): the bot's server, key, model and tuning (cached, no query per reply).
        const request = { ...(yield* providers.modelFor(bot)), messages: turns }
        // The key's pace first: a limited key hands the chat back instead of calling into its 429s.
        const key = providerKey(request.endpoint?.providerId)
        const chatKey = `${bot.id}:${chat.telegramChatId}`
        yield* pacing.admit(key, chatKey)
        // Drafts exist in private chats only; groups keep "typing…".
        const answer =
          bot.streaming && chat.type === "private"
            ? streamAnswer(
                bot.id,
                token,
                chat.telegramChatId,
                Math.max(1, incoming.telegramMessageIds[0] ?? 1),
                request
              )
            : whileTyping(token, chat.telegramChatId, llm.complete(request))
        return yield* answer.pipe(
          Effect.tap((completion) => pacing.answered(key, completion.rateLimit)),
          Effect.catchIf(
            (error) => error.kind === "rate_limited",
            (error) =>
              Effect.flatMap(pacing.refused(key, chatKey, { id: bot.id, name: bot.name }, error), Effect.fail)
          )
        )
      })

      const saveFailed = fn("Pipeline.saveFailedReply")(function* (
        bot: Bot,
        chat: Chat,
        incoming: Message,
        reason: string,
        notice: string
      ) {
        const reply = yield* save(MessageModel.failed(yield* newReply(incoming, bot.errorMessage), reason))
        yield* notifyAdmins(bot, chat, notice)
        return reply
      })

      /** A fixed reply when this run is the first to claim the notice of its window; otherwise none. */
      const noticeOnce = fn("Pipeline.noticeOnce")(function* (
        bot: Bot,
        incoming: Message,
        kind: string,
        start: Date,
        text: string
      ) {
        const first = yield* ledger.claimNotice(bot.id, incoming.tgUserId, kind, start)
        if (!first) return Option.none<Message>()
        return Option.some(yield* save(yield* newReply(incoming, text)))
      })

      /** Not allowed to talk to the bot: counted, told once a day, never the model. */
      const refuse = fn("Pipeline.refuse")(function* (
        bot: Bot,
        incoming: Message,
        plan: Extract<ReplyPlan, { _tag: "Refuse" }>
      ) {
        const at = new Date(yield* Clock.currentTimeMillis)
        yield* Metrics.count(Metrics.accessDenied, { bot: bot.id, reason: plan.reason })
        yield* ledger.recordDenied(bot.id, incoming.tgUserId, at)
        return yield* noticeOnce(bot, incoming, "denied", windowStart("day", at), plan.text)
      })

      const generate = fn("Pipeline.ensureResponseGenerated")(function* (
        bot: Bot,
        token: Token,
        chat: Chat,
        incoming: Message,
        content: IncomingContent
      ) {
        let plan = planReply(bot, chat, content, incoming.tgUserId, limits)
        if (plan._tag === "Transcribe" && content.recording != null) {
          // The transcript is stored before the answer is made: a rerun does not pay for it again.
          const heard = yield* recordings.transcribe(bot, token, incoming, content.recording)
          plan =
            heard._tag === "Unreadable"
              ? { _tag: "FixedAnswer", text: heard.reply }
              : planReply(
                  bot,
                  chat,
                  {
                    ...content,
                    text: heard.message.text,
                    recording: { ...content.recording, transcribed: true }
                  },
                  incoming.tgUserId,
                  limits
                )
          if (heard._tag === "Unreadable") {
            yield* Effect.logWarning("recording not transcribed", { bot_id: bot.id, reason: heard.reason })
          }
        }
        switch (plan._tag) {
          case "Refuse":
            return yield* refuse(bot, incoming, plan)
          case "ShowUsage": {
            const at = new Date(yield* Clock.currentTimeMillis)
            const usage = yield* ledger.usage(bot.id, incoming.tgUserId, at)
            return Option.some(yield* save(yield* newReply(incoming, usageText(bot.limits, usage, at))))
          }
          case "Ignore":
            yield* Effect.logDebug("message not answered", { bot_id: bot.id, reason: plan.reason })
            return Option.none()
          case "FixedAnswer":
            return Option.some(yield* save(yield* newReply(incoming, plan.text)))
          case "NewThread": {
            // The new thread and the reply are stored together: a rerun finds the reply and stops.
            const reply = yield* newReply(incoming, plan.text)
            return Option.some(
              yield* transactions.withTransaction(
                Effect.gen(function* () {
                  const current = yield* chats.findById(chat.id).pipe(Effect.orDie)
                  yield* chats.update(ChatModel.startNewThread(current).state).pipe(Effect.orDie)
                  return yield* save(reply)
                })
              )
            )
          }
          case "Transcribe":
            return yield* Effect.die(new Error("a recording without its file was planned for transcription"))
          case "AskModel":
            break
        }
        // With limits, counted before the model is asked, so concurrent messages cannot all slip
        // under one. Without, the use is only counted, in one write once the answer is known.
        const at = new Date(yield* Clock.currentTimeMillis)
        const key = { botId: bot.id, userId: incoming.tgUserId, messageId: incoming.id }
        const limited = hasLimits(bot.limits)
        const check = limited
          ? yield* ledger.reserve(key, bot.limits, at)
          : ({ _tag: "WithinLimits" } as const)
        if (check._tag === "OverLimit") {
          yield* Metrics.count(Metrics.limitReached, { bot: bot.id, limit: check.limit })
          return yield* noticeOnce(
            bot,
            incoming,
            `limit:${check.limit}`,
            check.windowStart,
            limitText(bot.limitMessage, check)
          )
        }
        // conversations (issue 11): a photo is looked at only for this request.
        let image: string | null = null
        if (content.photo != null && bot.vision) {
          const loaded = yield* loadPhoto(bot, token, content.photo)
          if (loaded._tag === "Unreadable") {
            yield* Effect.logWarning("photo not loaded", { bot_id: bot.id, reason: loaded.reason })
            return Option.some(yield* save(yield* newReply(incoming, PHOTO_UNREADABLE_REPLY)))
          }
          image = loaded.dataUrl
        }
        const outcome = yield* askModel(bot, token, chat, incoming, image, content.text).pipe(
          Effect.map((answer) => ({ ok: true as const, answer })),
          Effect.catchTag("LlmError", (error) =>
            classifyLlm(error) === "retryable"
              ? Effect.fail(retryLater(error))
              : Effect.succeed({ ok: false as const, error })
          )
        )
        // Bad key, no quota, a request the model refuses: retrying will not help.
        if (!outcome.ok) {
          const reason = outcome.error.message
          if (!limited) yield* ledger.record(key, { tokens: 0, costUsd: 0 }, at)
          return Option.some(yield* saveFailed(bot, chat, incoming, reason, reason))
        }
        const { answer } = outcome
        const spent = { tokens: answer.inputTokens + answer.outputTokens, costUsd: answer.costUsd }
        // Recorded before the reply is stored: a rerun after a crash in between generates (and
        // pays) again and records nothing twice; a stored reply is never generated again.
        if (!limited) yield* ledger.record(key, spent, at)
        const reply = yield* save(
          yield* newReply(incoming, answer.text.trim() === "" ? "…" : answer.text, answer)
        )
        if (limited) yield* ledger.settle(incoming.id, spent)
        return Option.some(reply)
      })

      return GenerateReply.of({ generate, saveFailed })
    })
  )
}
