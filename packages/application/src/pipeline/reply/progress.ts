/**
 * What the user sees while the model writes: "typing…", or, in private chats
 * of bots with `streaming`, the answer growing as a Bot API draft
 * (`sendMessageDraft`) at most every DRAFT_EVERY_MS (about every 1.4 s under the chat's
 * send budget, see `drafts` below). The answer is the same
 * either way. Drafts are ephemeral: nothing of them is stored,
 * a crash mid-stream just generates again, and the final answer still goes out
 * once through the send step. A bot whose Telegram refuses drafts (an older
 * API server: 400 or 404) shows "typing…" instead from then on, and the reply
 * goes on. Drafts count in the send budget (sendBudget.ts) and are skipped,
 * never waited for, when it has no room.
 */
import { answersByVoice, type Bot, type BotId, type Chat, type Message, splitReply } from "@botfleet/domain"
import { Clock, Effect, Schedule, Stream } from "effect"
import * as Metrics from "../../observability/metrics.ts"
import { spanFn } from "../../observability/spanFn.ts"
import {
  type Completion,
  type CompletionRequest,
  LanguageModel,
  LlmError
} from "../../ports/LanguageModel.ts"
import { type TelegramError, TelegramGateway, type Token } from "../../ports/TelegramGateway.ts"
import { SendBudget } from "../sendBudget.ts"

/** Replies faster than this show no "typing…". */
export const TYPING_AFTER = "750 millis"

/** Telegram asks bots not to update a draft more often than this (ms). */
export const DRAFT_EVERY_MS = 300
/** "typing…" lasts about 5 s; repeated a little sooner. */
const TYPING_EVERY_MS = 4_000

/** What a draft shows of the answer so far: the part that will be its last message (≤ 4096). */
export const draftText = (text: string): string => (text.trim() === "" ? "" : (splitReply(text).at(-1) ?? ""))

/** Not worth trying again for this bot: the method is unknown or refused. */
const refusesDrafts = (error: TelegramError) => error.kind === "bad_request" || error.kind === "not_found"

export const makeProgress = Effect.gen(function* () {
  const fn = yield* spanFn
  const telegram = yield* TelegramGateway
  const llm = yield* LanguageModel
  const budget = yield* SendBudget
  /** Bots whose Telegram refused a draft: typing for them until the process restarts. */
  const refused = new Set<BotId>()

  /** Shows "typing…" while the model thinks; Telegram clears it after ~5 s, so it is repeated. */
  const whileTyping = <A, E, R>(
    token: Token,
    chatId: number,
    topicId: number | null,
    effect: Effect.Effect<A, E, R>
  ) =>
    Effect.scoped(
      Effect.gen(function* () {
        yield* Effect.forkScoped(
          telegram
            .sendChatAction(token, chatId, "typing", topicId)
            .pipe(Effect.ignore, Effect.repeat(Schedule.spaced("4 seconds")), Effect.delay(TYPING_AFTER)),
          // The clock starts now; a model that answers within TYPING_AFTER needs no indicator.
          { startImmediately: true }
        )
        return yield* effect
      })
    )

  const withDrafts = fn("Pipeline.streamAnswer")(function* (
    botId: BotId,
    token: Token,
    chatId: number,
    topicId: number | null,
    draftId: number,
    request: CompletionRequest
  ) {
    let text = ""
    let shown = ""
    let typedAt = Number.NEGATIVE_INFINITY

    const typing = Effect.gen(function* () {
      const now = yield* Clock.currentTimeMillis
      if (now - typedAt < TYPING_EVERY_MS) return
      typedAt = now
      yield* telegram.sendChatAction(token, chatId, "typing", topicId).pipe(Effect.ignore)
    })

    const showDraft = Effect.gen(function* () {
      if (refused.has(botId)) return yield* typing
      const draft = draftText(text)
      if (draft === "" || draft === shown) return
      // Drafts count in the send budget but never wait for it: a skipped one is replaced by the next.
      if (!(yield* budget.tryDraft(botId, chatId, "private"))) {
        return yield* Metrics.count(Metrics.draftUpdates, { bot: botId, outcome: "paced" })
      }
      shown = draft
      yield* telegram.sendMessageDraft(token, { chatId, draftId, text: draft, topicId }).pipe(
        Effect.andThen(Metrics.count(Metrics.draftUpdates, { bot: botId, outcome: "ok" })),
        Effect.catchTag("TelegramError", (error) => {
          if (!refusesDrafts(error)) {
            // A late or lost draft is replaced by the next one: nothing to do.
            return Metrics.count(Metrics.draftUpdates, { bot: botId, outcome: "error" })
          }
          refused.add(botId)
          return Effect.all([
            Metrics.count(Metrics.draftUpdates, { bot: botId, outcome: "refused" }),
            Effect.logWarning("Telegram refuses message drafts; showing typing instead", {
              bot_id: botId,
              reason: error.message
            }),
            typing
          ])
        })
      )
    })

    return yield* Effect.scoped(
      Effect.gen(function* () {
        // Wakes when a draft could go (the chat's budget allows about one a second; waking every
        // DRAFT_EVERY_MS found no room three times in four), and DRAFT_EVERY_MS after that: a draft
        // holds the final message back until the budget refills, so one sent the moment it could
        // go often lands just before the end and delays the answer itself (slow-model bench).
        const drafts = Effect.gen(function* () {
          let wait = 0
          while (true) {
            yield* Effect.sleep(wait + DRAFT_EVERY_MS)
            yield* showDraft
            wait = refused.has(botId) ? 0 : yield* budget.draftWait(botId, chatId, "private")
          }
        })
        yield* Effect.forkScoped(drafts, { startImmediately: true })
        let finished: Completion | undefined
        yield* Stream.runForEach(llm.stream(request), (event) =>
          Effect.sync(() => {
            if (event._tag === "TextDelta") text += event.text
            else finished = event.completion
          })
        )
        if (finished === undefined) {
          return yield* new LlmError({
            kind: "unavailable",
            model: request.model,
            description: "the stream ended without the whole answer",
            retryAfterSeconds: null
          })
        }
        return finished
      })
    )
  })

  /**
   * While tools run: "typing…", and in private chats of streaming bots a
   * draft naming the tool at work ("Checking the time…"), unless Telegram
   * refuses drafts for the bot.
   */
  const whileTools = <A, E, R>(
    bot: Bot,
    token: Token,
    chat: Chat,
    incoming: Message,
    title: string,
    effect: Effect.Effect<A, E, R>
  ) =>
    Effect.andThen(
      bot.streaming && chat.type === "private" && !refused.has(bot.id)
        ? Effect.flatMap(budget.tryDraft(bot.id, chat.telegramChatId, "private"), (room) =>
            room
              ? telegram
                  .sendMessageDraft(token, {
                    chatId: chat.telegramChatId,
                    draftId: Math.max(1, incoming.telegramMessageIds[0] ?? 1),
                    text: `${title}…`,
                    topicId: incoming.topicId
                  })
                  .pipe(Effect.ignore)
              : Effect.void
          )
        : Effect.void,
      whileTyping(token, chat.telegramChatId, incoming.topicId, effect)
    )

  /**
   * The model's answer to `request`, shown as it is made; drafts exist in
   * private chats only, and not for an answer due as a voice note.
   */
  const answer = (bot: Bot, token: Token, chat: Chat, incoming: Message, request: CompletionRequest) =>
    bot.streaming && chat.type === "private" && !answersByVoice(bot.voiceReplies, incoming)
      ? withDrafts(
          bot.id,
          token,
          chat.telegramChatId,
          incoming.topicId,
          Math.max(1, incoming.telegramMessageIds[0] ?? 1),
          request
        )
      : whileTyping(token, chat.telegramChatId, incoming.topicId, llm.complete(request))

  return { answer, whileTools }
})
