/**
 * The reply pipeline, orchestrated: each step checks stored state first, so
 * running an update again after a crash continues where it stopped and
 * repeats at most the one Telegram call that was in flight.
 *
 *   saveIncoming.ts   1. user, chat and the incoming message (unique per bot + update)
 *   generateReply.ts  2. planReply decides; a fixed text, a new thread or the model answers
 *                     3. the reply is stored with model, tokens and cost before anything is sent
 *   sendReply.ts      4. chunk by chunk; a chunk recorded as sent is never sent again
 *
 * The update arrives decoded (`IncomingUpdate`, read once per hand-out by
 * ChatWorker): a message, a button press, a membership change. Bots and their
 * tokens come from BotAccess; failures are classified in failures.ts.
 */
import {
  type BotId,
  type ButtonPress,
  botTexts,
  ChatModel,
  checkAccess,
  type FailureKind,
  type IncomingContent,
  type IncomingMessage,
  type IncomingUpdate,
  type Message,
  MessageModel,
  modeAnswer,
  parseCommand,
  pressedCommand,
  pressedPersona,
  pressPersona,
  replyParts,
  textsFor
} from "@botfleet/domain"
import { Clock, Context, Effect, Layer, Option } from "effect"
import { BotAccess, type BotWithToken } from "../bots/BotAccess.ts"
import * as Metrics from "../observability/metrics.ts"
import { spanFn } from "../observability/spanFn.ts"
import { ChatRepository, MessageRepository } from "../ports/Repositories.ts"
import { GenerateReply } from "./generateReply.ts"
import {
  type BotUnavailable,
  InvalidUpdate,
  type LeaseLost,
  type Paced,
  type RetryLater
} from "./PipelineErrors.ts"
import { type SavedIncoming, SaveIncoming } from "./saveIncoming.ts"
import { SendReply } from "./sendReply.ts"
import { timed } from "./timed.ts"

export class HandleUpdate extends Context.Service<
  HandleUpdate,
  {
    /** Runs (or continues) the pipeline for one stored update. */
    readonly process: (
      botId: BotId,
      update: IncomingUpdate
    ) => Effect.Effect<void, RetryLater | BotUnavailable | InvalidUpdate | Paced | LeaseLost>
    /**
     * Retries are exhausted: the user gets the bot's error message once and the
     * failure stays on the reply for admins.
     */
    readonly giveUp: (
      botId: BotId,
      update: IncomingUpdate,
      reason: string,
      kind?: FailureKind
    ) => Effect.Effect<void>
  }
>()("@botfleet/application/HandleUpdate") {
  static readonly layer = Layer.effect(
    HandleUpdate,
    Effect.gen(function* () {
      const fn = yield* spanFn
      const access = yield* BotAccess
      const chats = yield* ChatRepository
      const messages = yield* MessageRepository
      const saveIncoming = yield* SaveIncoming
      const generateReply = yield* GenerateReply
      const sendReply = yield* SendReply

      /**
       * /mode's answer carries the personas as buttons. They are not stored:
       * made again from the bot and chat when a rerun sends the answer. Only
       * under /mode's own text, not under a refusal or a limit notice.
       */
      const modeButtons = (
        bot: BotWithToken["bot"],
        chat: SavedIncoming["chat"],
        message: Message,
        content: IncomingContent,
        reply: Message
      ) => {
        if (parseCommand(content.text, bot.username) !== "mode") return undefined
        const mode = modeAnswer(bot, chat, message.topicId, textsFor(bot, content))
        return reply.text === mode.text && mode.buttons.length > 0
          ? mode.buttons.map((button) => [button])
          : undefined
      }

      /**
       * A press of a /mode button: the conversation (chat, or topic) keeps the
       * persona from its next message on, and the presser is told. Writing the
       * same choice again on a rerun changes nothing.
       */
      const handlePersonaPress = Effect.fnUntraced(function* (
        { bot, token }: BotWithToken,
        press: ButtonPress,
        key: string
      ) {
        const where = press.chat
        const allowed =
          where !== null && checkAccess(bot, { userId: press.from.id, chatId: where.id })._tag !== "Denied"
        if (where === null || !allowed)
          return yield* sendReply.answerCallback(bot, token, press.callbackQueryId)
        const decided = pressPersona(bot, key, botTexts(bot, press.from.languageCode))
        if (decided._tag === "Switch") {
          // Stored as the command it amounts to ("/mode tutor"): the transcript shows who switched, and
          // the user and chat are stored as for any message.
          const { chat } = yield* saveIncoming.press(bot, { ...press, chat: where }, `/mode ${decided.key}`)
          yield* chats.update(ChatModel.choosePersona(chat, press.topicId, decided.key)).pipe(Effect.orDie)
        }
        yield* sendReply.answerCallback(bot, token, press.callbackQueryId, decided.text)
      })

      /** Steps 2 to 4 for a stored incoming message: reply (unless one is stored), then send it. */
      // No span of its own: it runs inside handleMessage's or handlePress's.
      const answer = Effect.fnUntraced(function* (
        { bot, token }: BotWithToken,
        { chat, message, isNew }: SavedIncoming,
        content: IncomingContent
      ) {
        // A message stored just now cannot have a reply yet.
        const existing = isNew ? Option.none<Message>() : yield* messages.findReply(message.id)
        const reply = Option.isSome(existing)
          ? existing
          : yield* timed("response_generated", generateReply.generate(bot, token, chat, message, content))
        if (Option.isNone(reply) || reply.value.chunksSent >= replyParts(reply.value).length) return
        const delivered = yield* timed(
          "response_sent",
          sendReply.send(
            bot,
            token,
            chat,
            reply.value,
            "pace",
            modeButtons(bot, chat, message, content, reply.value)
          )
        )
        if (delivered.status === "sent") {
          yield* Metrics.observe(
            Metrics.replyLatency,
            {},
            ((yield* Clock.currentTimeMillis) - message.createdAt.getTime()) / 1000
          )
        }
      })

      const handleMessage = fn("Pipeline.handleMessage")(function* (
        loaded: BotWithToken,
        event: IncomingMessage
      ) {
        const saved = yield* timed("incoming_saved", saveIncoming.message(loaded.bot, event))
        yield* answer(loaded, saved, event)
      })

      /** Buttons: always answered; data naming a command runs it as if typed. */
      const handlePress = fn("Pipeline.handlePress")(function* (loaded: BotWithToken, press: ButtonPress) {
        const persona = pressedPersona(press.data)
        if (persona !== undefined) return yield* handlePersonaPress(loaded, press, persona)
        yield* sendReply.answerCallback(loaded.bot, loaded.token, press.callbackQueryId)
        const command = press.data ? parseCommand(`/${press.data}`, loaded.bot.username) : undefined
        if (press.chat === null || command === undefined || command === "unknown") return
        // The whole data: a button may carry the command's arguments (/memory's "forget <id>").
        const content = { ...pressedCommand(press.data ?? command, loaded.bot), from: press.from }
        const saved = yield* timed(
          "incoming_saved",
          saveIncoming.press(loaded.bot, { ...press, chat: press.chat }, content.text)
        )
        yield* answer(loaded, saved, content)
      })

      // Not named `process`: that would hide Node's global in this file.
      const processUpdate = fn("HandleUpdate.process")(function* (botId: BotId, event: IncomingUpdate) {
        // Not what Telegram sends (e.g. a fractional chat id): no retry can help, park it at once.
        if (event.kind === "invalid") return yield* new InvalidUpdate({ reason: event.reason })
        const loaded = yield* access.loadActive(botId)
        yield* Effect.annotateCurrentSpan({
          "bot.id": botId,
          "update.kind": event.kind,
          "update.id": event.updateId
        })
        switch (event.kind) {
          case "message":
            return yield* handleMessage(loaded, event)
          case "button":
            return yield* handlePress(loaded, event)
          case "membership":
            return yield* saveIncoming.membership(loaded.bot, event)
          case "ignored":
            return yield* Effect.logDebug("update ignored", { bot_id: botId, reason: event.reason })
        }
      })

      const giveUp = fn("HandleUpdate.giveUp")(
        function* (botId: BotId, event: IncomingUpdate, reason: string, kind: FailureKind = "other") {
          if (event.kind !== "message") return
          const loaded = yield* access.loadActive(botId).pipe(Effect.option)
          if (Option.isNone(loaded)) return
          const { bot, token } = loaded.value
          const incoming = yield* messages.findByUpdate(botId, event.updateId)
          if (Option.isNone(incoming)) return
          const chat = yield* chats.findById(incoming.value.chatId).pipe(Effect.orDie)
          const existing = yield* messages.findReply(incoming.value.id)
          if (Option.isSome(existing)) {
            // Generated but never delivered: keep the text, record why it stopped.
            yield* messages.update(MessageModel.failed(existing.value, reason, kind)).pipe(Effect.orDie)
            return
          }
          const reply = yield* generateReply.saveFailed(
            bot,
            chat,
            incoming.value,
            reason,
            `reply failed after retries: ${reason}`,
            kind,
            event.from?.languageCode ?? null
          )
          yield* sendReply.send(bot, token, chat, reply).pipe(Effect.ignore)
        },
        Effect.catchCause((cause) => Effect.logError("giving up on an update failed", cause))
      )

      return HandleUpdate.of({ process: processUpdate, giveUp })
    })
  )
}
