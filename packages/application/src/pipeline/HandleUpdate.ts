/**
 * The reply pipeline: four steps, each checking stored state first, so running
 * an update again after a crash continues where it stopped and repeats at most
 * the one Telegram call that was in flight.
 *
 *   1. ensureIncomingSaved     user, chat and the incoming message (unique per bot + update)
 *   2. ensureResponseGenerated a command's text or the LLM's answer
 *   3. ensureResponseSaved     the reply with model, tokens and cost, before anything is sent
 *   4. ensureResponseSent      chunk by chunk; a chunk recorded as sent is never sent again
 */
import { randomUUID } from "node:crypto"
import {
  type Bot,
  type BotId,
  BotModel,
  type Chat,
  ChatModel,
  llmRole,
  Message,
  MessageId,
  type MessageNotFound,
  parseCommand,
  splitReply,
  TelegramUserId,
  TgUser
} from "@botfleet/domain"
import { Clock, Context, Effect, Layer, Option, type Redacted, Schedule } from "effect"
import * as Metrics from "../observability/metrics.ts"
import { type ChatTurn, LanguageModel, type LlmError } from "../ports/LanguageModel.ts"
import {
  BotRepository,
  ChatRepository,
  EffectOutbox,
  MessageRepository,
  Transactions
} from "../ports/Repositories.ts"
import { SecretBox } from "../ports/SecretBox.ts"
import { Settings } from "../ports/Settings.ts"
import { type TelegramError, TelegramGateway } from "../ports/TelegramGateway.ts"
import { BotUnavailable, InvalidUpdate, RetryLater } from "./PipelineErrors.ts"
import { type IncomingEvent, parseUpdate, type TelegramChat, type TelegramUser } from "./telegramUpdate.ts"

/** How long a bot and its decrypted token are reused between updates. */
export const BOT_CACHE_MS = 1_000
/** How often one process rewrites a Telegram user's names and last-seen time. */
export const USER_REFRESH_MS = 60_000
/** Replies faster than this show no "typing…". */
export const TYPING_AFTER = "750 millis"

export const REFRESH_REPLY = "Started a new conversation. I've forgotten what we talked about before."
export const UNKNOWN_COMMAND_REPLY = "I don't know that command."
export const unsupportedReply = (kind: string) =>
  `I can only read text for now, so I can't open this ${kind}. Please send your question as text.`

type MessageEvent = Extract<IncomingEvent, { kind: "message" }>

export class HandleUpdate extends Context.Service<
  HandleUpdate,
  {
    /** Runs (or continues) the pipeline for one stored update. */
    readonly process: (
      botId: BotId,
      payload: unknown
    ) => Effect.Effect<void, RetryLater | BotUnavailable | InvalidUpdate>
    /**
     * Retries are exhausted: the user gets the bot's error message once and the
     * failure stays on the reply for admins.
     */
    readonly giveUp: (botId: BotId, payload: unknown, reason: string) => Effect.Effect<void>
    /** Sends (the rest of) a stored message, e.g. one an admin wrote; safe to repeat. */
    readonly deliver: (
      messageId: MessageId
    ) => Effect.Effect<void, RetryLater | BotUnavailable | MessageNotFound>
  }
>()("@botfleet/application/HandleUpdate") {
  static readonly layer = Layer.effect(
    HandleUpdate,
    Effect.gen(function* () {
      const bots = yield* BotRepository
      const chats = yield* ChatRepository
      const messages = yield* MessageRepository
      const outbox = yield* EffectOutbox
      const transactions = yield* Transactions
      const secrets = yield* SecretBox
      const telegram = yield* TelegramGateway
      const llm = yield* LanguageModel
      const settings = yield* Settings

      const now = Effect.map(Clock.currentTimeMillis, (millis) => new Date(millis))

      /** Records how long a pipeline step took (pipeline_step_duration_seconds{step}). */
      const timed = <A, E, R>(step: string, effect: Effect.Effect<A, E, R>) =>
        Effect.gen(function* () {
          const started = yield* Clock.currentTimeMillis
          const result = yield* effect
          yield* Metrics.observe(
            Metrics.pipelineStepDuration,
            { step },
            ((yield* Clock.currentTimeMillis) - started) / 1000
          )
          return result
        })

      // A chat's updates come in bursts: the bot and its decrypted token are kept for a
      // moment instead of read and decrypted per update. Edits show within BOT_CACHE_MS.
      const botCache = new Map<
        BotId,
        { readonly bot: Bot; readonly token: Redacted.Redacted<string>; readonly until: number }
      >()

      /**
       * A revoked token stops the bot and tells admins; its updates stop with it.
       * Read fresh first: an admin may have edited the bot meanwhile, or already
       * put in a new token, in which case this update just runs again with it.
       */
      const stopBot = Effect.fn("HandleUpdate.stopBot")(function* (used: Bot, reason: string) {
        botCache.delete(used.id)
        const bot = yield* bots
          .findById(used.id)
          .pipe(
            Effect.catchTag("BotNotFound", () =>
              Effect.fail(new BotUnavailable({ reason: "bot was deleted" }))
            )
          )
        if (bot.tokenCiphertext !== used.tokenCiphertext) {
          return yield* new RetryLater({ reason: "the bot's token was replaced", retryAfterSeconds: null })
        }
        const transition = BotModel.markFailed(bot, reason, yield* now)
        yield* transactions.withTransaction(
          Effect.gen(function* () {
            yield* bots.update(transition.state).pipe(Effect.orDie)
            yield* outbox.enqueue(transition.effects)
          })
        )
        yield* Effect.logError("bot stopped", { bot_id: bot.id, reason })
        return yield* new BotUnavailable({ reason })
      })

      const loadBot = Effect.fn("HandleUpdate.loadBot")(function* (botId: BotId) {
        const clock = yield* Clock.currentTimeMillis
        const cached = botCache.get(botId)
        if (cached !== undefined && cached.until > clock) return { bot: cached.bot, token: cached.token }
        const loaded = yield* loadBotFresh(botId)
        if (botCache.size > 10_000) botCache.clear()
        botCache.set(botId, { ...loaded, until: clock + BOT_CACHE_MS })
        return loaded
      })

      const loadBotFresh = Effect.fn("HandleUpdate.loadBotFresh")(function* (botId: BotId) {
        const bot = yield* bots
          .findById(botId)
          .pipe(
            Effect.catchTag("BotNotFound", () =>
              Effect.fail(new BotUnavailable({ reason: "bot was deleted" }))
            )
          )
        if (!bot.active) return yield* new BotUnavailable({ reason: "bot is disabled" })
        const token = yield* secrets
          .decrypt(bot.tokenCiphertext)
          .pipe(Effect.catchTag("SecretUnreadable", (error) => stopBot(bot, error.message)))
        return { bot, token }
      })

      const toTgUser = (user: TelegramUser, at: Date) =>
        new TgUser({
          telegramId: TelegramUserId.make(user.id),
          firstName: user.first_name ?? "",
          lastName: user.last_name ?? null,
          username: user.username ?? null,
          languageCode: user.language_code ?? null,
          isBot: user.is_bot ?? false,
          firstSeenAt: at,
          lastSeenAt: at
        })

      const chatFor = (bot: Bot, chat: TelegramChat, from: TelegramUser | null) =>
        chats.findOrCreate({
          botId: bot.id,
          telegramChatId: chat.id,
          type: chat.type,
          title: chat.title ?? null,
          tgUserId: chat.type === "private" && from ? from.id : null
        })

      // Names and language rarely change: a user is written at most once a minute per process.
      const usersSeen = new Map<number, number>()
      const rememberUser = Effect.fn("HandleUpdate.rememberUser")(function* (user: TelegramUser, at: Date) {
        const seen = usersSeen.get(user.id)
        if (seen !== undefined && at.getTime() - seen < USER_REFRESH_MS) return
        yield* chats.upsertUser(toTgUser(user, at))
        if (usersSeen.size > 100_000) usersSeen.clear()
        usersSeen.set(user.id, at.getTime())
      })

      // Step 1.
      const ensureIncomingSaved = Effect.fn("Pipeline.ensureIncomingSaved")(function* (
        bot: Bot,
        event: MessageEvent
      ) {
        const at = yield* now
        if (event.from) yield* rememberUser(event.from, at)
        const chat = yield* chats.findOrCreate({
          botId: bot.id,
          telegramChatId: event.chat.id,
          type: event.chat.type,
          title: event.chat.title ?? null,
          tgUserId: event.chat.type === "private" && event.from ? event.from.id : null,
          lastMessageAt: at
        })
        const id = MessageId.make(randomUUID())
        const message = yield* messages.insert(
          new Message({
            id,
            chatId: chat.id,
            botId: bot.id,
            role: "user",
            text: event.unsupported ? `[${event.unsupported}]` : event.text,
            thread: chat.thread,
            tgUserId: event.from ? TelegramUserId.make(event.from.id) : null,
            updateId: event.updateId,
            replyTo: null,
            telegramMessageIds: [event.messageId],
            chunksSent: 0,
            model: null,
            inputTokens: 0,
            outputTokens: 0,
            costUsd: 0,
            status: "received",
            error: null,
            createdAt: at,
            sentAt: null
          })
        )
        // A message stored by an earlier run of this update keeps its own id.
        return { chat, message, isNew: message.id === id }
      })

      const newReply = (
        chat: Chat,
        incoming: Message,
        fields: Partial<ConstructorParameters<typeof Message>[0]>
      ) =>
        Effect.map(
          now,
          // History is ordered by time: a reply made in the same millisecond still comes after its message.
          (clock) =>
            new Message({
              id: MessageId.make(randomUUID()),
              chatId: chat.id,
              botId: chat.botId,
              role: "assistant",
              text: "",
              thread: incoming.thread,
              tgUserId: null,
              updateId: null,
              replyTo: incoming.id,
              telegramMessageIds: [],
              chunksSent: 0,
              model: null,
              inputTokens: 0,
              outputTokens: 0,
              costUsd: 0,
              status: "pending",
              error: null,
              createdAt: new Date(Math.max(clock.getTime(), incoming.createdAt.getTime() + 1)),
              sentAt: null,
              ...fields
            })
        )

      /** Shows "typing…" while the model thinks; Telegram clears it after ~5 s, so it is repeated. */
      const whileTyping = <A, E, R>(
        token: Redacted.Redacted<string>,
        chatId: number,
        effect: Effect.Effect<A, E, R>
      ) =>
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

      const askModel = Effect.fn("Pipeline.askModel")(function* (
        bot: Bot,
        token: Redacted.Redacted<string>,
        chat: Chat
      ) {
        const history = yield* messages.history(chat.id, chat.thread, Math.max(bot.historyLimit, 1))
        const turns: Array<ChatTurn> = []
        if (bot.systemPrompt.trim() !== "") turns.push({ role: "system", content: bot.systemPrompt })
        for (const message of history) turns.push({ role: llmRole(message.role), content: message.text })
        return yield* whileTyping(
          token,
          chat.telegramChatId,
          llm.complete({ model: bot.model ?? settings.defaultModel, messages: turns })
        )
      })

      /** The reply to a failure we will not retry: the bot's error message, marked failed. */
      const failedReply = (bot: Bot, chat: Chat, incoming: Message, reason: string) =>
        newReply(chat, incoming, { text: bot.errorMessage, status: "failed", error: reason })

      // Steps 2 and 3: generate, then store before anything is sent.
      const ensureResponseGenerated = Effect.fn("Pipeline.ensureResponseGenerated")(function* (
        bot: Bot,
        token: Redacted.Redacted<string>,
        chat: Chat,
        incoming: Message,
        event: MessageEvent
      ) {
        if (event.unsupported) {
          return yield* ensureResponseSaved(
            yield* newReply(chat, incoming, { text: unsupportedReply(event.unsupported) })
          )
        }
        const command = parseCommand(event.text, bot.username)
        switch (command) {
          case "start":
            return yield* ensureResponseSaved(yield* newReply(chat, incoming, { text: bot.startMessage }))
          case "help":
            return yield* ensureResponseSaved(yield* newReply(chat, incoming, { text: bot.helpMessage }))
          case "unknown":
            return yield* ensureResponseSaved(
              yield* newReply(chat, incoming, { text: `${UNKNOWN_COMMAND_REPLY} ${bot.helpMessage}` })
            )
          case "refresh": {
            // The new thread and the reply are stored together: a rerun finds the reply and stops.
            const reply = yield* newReply(chat, incoming, { text: REFRESH_REPLY })
            return yield* transactions.withTransaction(
              Effect.gen(function* () {
                const current = yield* chats.findById(chat.id).pipe(Effect.orDie)
                yield* chats.update(ChatModel.startNewThread(current).state).pipe(Effect.orDie)
                return yield* ensureResponseSaved(reply)
              })
            )
          }
          case undefined:
            break
        }
        const outcome = yield* askModel(bot, token, chat).pipe(
          Effect.map((answer) => ({ ok: true as const, answer })),
          Effect.catchTag(
            "LlmError",
            (error): Effect.Effect<{ ok: false; error: LlmError }, RetryLater> =>
              error.isRetryable
                ? Effect.fail(
                    new RetryLater({ reason: error.message, retryAfterSeconds: error.retryAfterSeconds })
                  )
                : Effect.succeed({ ok: false as const, error })
          )
        )
        if (!outcome.ok) {
          // Bad key, no quota, a request the model refuses: retrying will not help.
          yield* notifyAdmins(bot, chat, outcome.error.message)
          return yield* ensureResponseSaved(yield* failedReply(bot, chat, incoming, outcome.error.message))
        }
        const answer = outcome.answer
        return yield* ensureResponseSaved(
          yield* newReply(chat, incoming, {
            text: answer.text.trim() === "" ? "…" : answer.text,
            model: answer.model,
            inputTokens: answer.inputTokens,
            outputTokens: answer.outputTokens,
            costUsd: answer.costUsd
          })
        )
      })

      const notifyAdmins = (bot: Bot, chat: Chat, message: string) =>
        outbox.enqueue([{ _tag: "NotifyAdmins", botId: bot.id, chatId: chat.id, message }])

      // Step 3: the insert is idempotent on reply_to; a rerun gets the stored reply back.
      const ensureResponseSaved = Effect.fn("Pipeline.ensureResponseSaved")(function* (reply: Message) {
        return yield* timed("response_saved", messages.insert(reply))
      })

      /** Sends one chunk, falling back to plain text when Telegram cannot parse the formatting. */
      const sendChunk = (
        token: Redacted.Redacted<string>,
        chatId: number,
        text: string,
        formatted: boolean
      ) =>
        telegram.sendMessage(token, { chatId, text, parseMode: formatted ? "Markdown" : undefined }).pipe(
          Effect.catchIf(
            (error: TelegramError) => formatted && error.isEntityParseError,
            () => telegram.sendMessage(token, { chatId, text })
          )
        )

      // Step 4.
      const ensureResponseSent = Effect.fn("Pipeline.ensureResponseSent")(function* (
        bot: Bot,
        token: Redacted.Redacted<string>,
        chat: Chat,
        stored: Message
      ) {
        let reply = stored
        const chunks = splitReply(reply.text)
        // Model output is usually Markdown; our own texts are sent as written.
        const formatted = reply.model !== null
        for (let index = reply.chunksSent; index < chunks.length; index++) {
          const sent = yield* sendChunk(token, chat.telegramChatId, chunks[index]!, formatted).pipe(
            Effect.map((result) => ({ ok: true as const, messageId: result.messageId })),
            Effect.tapError(() => Metrics.count(Metrics.messagesSent, { bot: bot.id, outcome: "error" })),
            Effect.catchTag(
              "TelegramError",
              (error): Effect.Effect<{ ok: false; error: TelegramError }, RetryLater | BotUnavailable> => {
                if (error.kind === "unauthorized") {
                  const reason = `Telegram rejected the token: ${error.description}`
                  // The reply will not go out: admins see it failed (and can retry it after fixing the token).
                  return messages
                    .update(new Message({ ...reply, status: "failed", error: reason }))
                    .pipe(Effect.orDie, Effect.andThen(stopBot(bot, reason)))
                }
                if (error.isRetryable) {
                  return Effect.fail(
                    new RetryLater({ reason: error.message, retryAfterSeconds: error.retryAfterSeconds })
                  )
                }
                return Effect.succeed({ ok: false as const, error })
              }
            )
          )
          if (sent.ok) yield* Metrics.count(Metrics.messagesSent, { bot: bot.id, outcome: "ok" })
          const at = yield* now
          if (!sent.ok) {
            // Blocked by the user, kicked from the group, or a request Telegram refuses: not retried.
            const reason = sent.error.message
            yield* messages
              .update(new Message({ ...reply, status: "failed", error: reason }))
              .pipe(Effect.orDie)
            if (sent.error.kind === "forbidden") {
              // Read it again: /refresh may have moved the thread since this copy was loaded.
              const current = yield* chats.findById(chat.id).pipe(Effect.orDie)
              yield* chats.update(new ChatModel.Chat({ ...current, lastError: reason })).pipe(Effect.orDie)
            }
            yield* Effect.logWarning("reply not delivered", { bot_id: bot.id, chat_id: chat.id, reason })
            return new Message({ ...reply, status: "failed", error: reason })
          }
          const last = index === chunks.length - 1
          reply = new Message({
            ...reply,
            chunksSent: index + 1,
            telegramMessageIds: [...reply.telegramMessageIds, sent.messageId],
            status: last && reply.status === "pending" ? "sent" : reply.status,
            sentAt: last ? at : reply.sentAt
          })
          yield* messages.update(reply).pipe(Effect.orDie)
        }
        return reply
      })

      const handleMessage = Effect.fn("Pipeline.handleMessage")(function* (
        bot: Bot,
        token: Redacted.Redacted<string>,
        event: MessageEvent
      ) {
        const { chat, message, isNew } = yield* timed("incoming_saved", ensureIncomingSaved(bot, event))
        // A message stored just now cannot have a reply yet.
        const existing = isNew ? Option.none<Message>() : yield* messages.findReply(message.id)
        const reply = Option.isSome(existing)
          ? existing.value
          : yield* timed("response_generated", ensureResponseGenerated(bot, token, chat, message, event))
        if (reply.chunksSent < splitReply(reply.text).length) {
          const delivered = yield* timed("response_sent", ensureResponseSent(bot, token, chat, reply))
          if (delivered.status === "sent") {
            yield* Metrics.observe(
              Metrics.replyLatency,
              {},
              ((yield* now).getTime() - message.createdAt.getTime()) / 1000
            )
          }
        }
      })

      /** Callback buttons: always answered (or the button spins); known data runs the command. */
      const handleCallback = Effect.fn("Pipeline.handleCallback")(function* (
        bot: Bot,
        token: Redacted.Redacted<string>,
        event: Extract<IncomingEvent, { kind: "callback" }>
      ) {
        yield* telegram.answerCallbackQuery(token, event.callbackQueryId).pipe(
          // A query answered before (a rerun) or too old is a 400: nothing left to do.
          Effect.catchIf(
            (error: TelegramError) => !error.isRetryable && error.kind !== "unauthorized",
            () => Effect.void
          ),
          Effect.catchTag(
            "TelegramError",
            (error): Effect.Effect<void, RetryLater | BotUnavailable> =>
              error.kind === "unauthorized"
                ? stopBot(bot, `Telegram rejected the token: ${error.description}`)
                : Effect.fail(
                    new RetryLater({ reason: error.message, retryAfterSeconds: error.retryAfterSeconds })
                  )
          )
        )
        const command = event.data ? parseCommand(`/${event.data}`, bot.username) : undefined
        if (event.chat && command !== undefined && command !== "unknown") {
          yield* handleMessage(bot, token, {
            kind: "message",
            updateId: event.updateId,
            chat: event.chat,
            from: event.from,
            messageId: 0,
            text: `/${command}`,
            unsupported: null
          })
        }
      })

      /** The bot was blocked, kicked or re-added: admins see it on the chat. */
      const handleMembership = Effect.fn("Pipeline.handleMembership")(function* (
        bot: Bot,
        event: Extract<IncomingEvent, { kind: "membership" }>
      ) {
        const chat = yield* chatFor(bot, event.chat, null)
        const removed = event.status === "kicked" || event.status === "left"
        const lastError = removed
          ? `the bot was ${event.status === "kicked" ? "blocked or removed" : "removed"}`
          : null
        yield* chats.update(new ChatModel.Chat({ ...chat, lastError })).pipe(Effect.orDie)
      })

      const process = Effect.fn("HandleUpdate.process")(function* (botId: BotId, payload: unknown) {
        const event = parseUpdate(payload)
        if (event.kind === "invalid") return yield* new InvalidUpdate({ reason: event.reason })
        const { bot, token } = yield* loadBot(botId)
        yield* Effect.annotateCurrentSpan({
          "bot.id": botId,
          "update.kind": event.kind,
          "update.id": event.updateId
        })
        switch (event.kind) {
          case "message":
            return yield* handleMessage(bot, token, event)
          case "callback":
            return yield* handleCallback(bot, token, event)
          case "membership":
            return yield* handleMembership(bot, event)
          case "ignored":
            return yield* Effect.logDebug("update ignored", { bot_id: botId, reason: event.reason })
        }
      })

      const giveUp = Effect.fn("HandleUpdate.giveUp")(
        function* (botId: BotId, payload: unknown, reason: string) {
          const event = parseUpdate(payload)
          if (event.kind !== "message") return
          const loaded = yield* loadBot(botId).pipe(Effect.option)
          if (Option.isNone(loaded)) return
          const { bot, token } = loaded.value
          const incoming = yield* messages.findByUpdate(botId, event.updateId)
          if (Option.isNone(incoming)) return
          const chat = yield* chats.findById(incoming.value.chatId).pipe(Effect.orDie)
          const existing = yield* messages.findReply(incoming.value.id)
          if (Option.isSome(existing)) {
            // Generated but never delivered: keep the text, record why it stopped.
            yield* messages
              .update(new Message({ ...existing.value, status: "failed", error: reason }))
              .pipe(Effect.orDie)
            return
          }
          const reply = yield* ensureResponseSaved(yield* failedReply(bot, chat, incoming.value, reason))
          yield* notifyAdmins(bot, chat, `reply failed after retries: ${reason}`)
          yield* ensureResponseSent(bot, token, chat, reply).pipe(Effect.ignore)
        },
        Effect.catchCause((cause) => Effect.logError("giving up on an update failed", cause))
      )

      const deliver = Effect.fn("HandleUpdate.deliver")(function* (messageId: MessageId) {
        const message = yield* messages.findById(messageId)
        if (message.chunksSent >= splitReply(message.text).length) return
        const bot = yield* bots
          .findById(message.botId)
          .pipe(
            Effect.catchTag("BotNotFound", () =>
              Effect.fail(new BotUnavailable({ reason: "bot was deleted" }))
            )
          )
        const token = yield* secrets
          .decrypt(bot.tokenCiphertext)
          .pipe(Effect.catchTag("SecretUnreadable", (error) => stopBot(bot, error.message)))
        const chat = yield* chats.findById(message.chatId).pipe(Effect.orDie)
        yield* ensureResponseSent(bot, token, chat, message)
      })

      return HandleUpdate.of({ process, giveUp, deliver })
    })
  )
}
