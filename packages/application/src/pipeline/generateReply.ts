/**
 * Steps 2 and 3: decide the answer, make it and store it before anything is
 * sent. Each part is a file in reply/: plan (what to do), context (what the
 * model reads), tools (the turn loop: model, tool calls, results, model…),
 * ask (one model request, streamed or not), account (the sender's use),
 * notices (refusals and limits, told once), store (the idempotent insert),
 * memory (/memory: the sender's notes, stored then sent with their buttons).
 */
import {
  type Bot,
  type Chat,
  type FailureKind,
  type IncomingContent,
  type Message,
  modeAnswer,
  personaOf,
  speaksAnswer,
  textsFor,
  withPersona
} from "@botfleet/domain"
import { Context, Effect, Layer, Option } from "effect"
import { spanFn } from "../observability/spanFn.ts"
import type { Token } from "../ports/TelegramGateway.ts"
import type { BotUnavailable, LeaseLost, Paced, RetryLater } from "./PipelineErrors.ts"
import { makeAccount } from "./reply/account.ts"
import { makeGatherContext } from "./reply/context.ts"
import { addSpent, NOTHING_SPENT } from "./reply/history.ts"
import { makeShowMemory } from "./reply/memory.ts"
import { makeNotices } from "./reply/notices.ts"
import { makePlan } from "./reply/plan.ts"
import { makeRetry, questionContent } from "./reply/retry.ts"
import { makeStoreReply } from "./reply/store.ts"
import { makeTurn } from "./reply/tools.ts"

export { TYPING_AFTER } from "./reply/progress.ts"

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
    ) => Effect.Effect<Option.Option<Message>, RetryLater | BotUnavailable | Paced | LeaseLost>
    /**
     * A failure we will not retry: the bot's error message is stored as a
     * failed reply (to be sent), in the sender's language (`languageCode`),
     * and admins get `notice`.
     */
    readonly saveFailed: (
      bot: Bot,
      chat: Chat,
      incoming: Message,
      reason: string,
      notice: string,
      kind?: FailureKind,
      languageCode?: string | null
    ) => Effect.Effect<Message>
  }
>()("@botfleet/application/GenerateReply") {
  static readonly layer = Layer.effect(
    GenerateReply,
    Effect.gen(function* () {
      const fn = yield* spanFn
      const plan = yield* makePlan
      const gather = yield* makeGatherContext
      const turn = yield* makeTurn
      const account = yield* makeAccount
      const store = yield* makeStoreReply
      const notices = yield* makeNotices(store)
      const retry = yield* makeRetry(store)
      const showMemory = yield* makeShowMemory(store)

      /** `question` is what the model answers: the incoming message, or for /retry the question asked again. */
      const answerWithModel = Effect.fnUntraced(function* (
        bot: Bot,
        token: Token,
        chat: Chat,
        incoming: Message,
        content: IncomingContent,
        question: Message = incoming
      ) {
        const opened = yield* account.open(bot, incoming)
        if (opened._tag === "OverLimit") {
          return yield* notices.overLimit(bot, incoming, opened.over, textsFor(bot, content))
        }
        // The conversation's persona speaks for the bot in the model request only (prompt, model, bases).
        const speaker = withPersona(bot, personaOf(bot, chat, incoming.topicId))
        const context = yield* gather(speaker, token, chat, question, content)
        if (context._tag !== "Ready") return Option.some(yield* store.answer(incoming, context.reply))
        const first = yield* turn(speaker, token, chat, incoming, context.turns)
        // The model reads less than we thought: once more within half the room, then it fails.
        const again = first._tag === "Failed" && first.error.contextTooLong
        const asked = again ? yield* turn(speaker, token, chat, incoming, context.shorter()) : first
        // Beside the answer: the context's making, and the tools' own use (a first attempt's
        // finished calls are replayed from the store, not run again: theirs counts here).
        const beside = addSpent(
          addSpent(context.spent, asked.toolsSpent),
          again ? first.toolsSpent : NOTHING_SPENT
        )
        if (asked._tag === "Failed") {
          const reason = asked.error.message
          // The tool steps taken before the failure were paid for: the budget counts them.
          yield* account.nothingSpent(opened.tab, addSpent(beside, asked.stepsSpent))
          return Option.some(
            yield* store.failed(
              bot,
              chat,
              incoming,
              reason,
              reason,
              `model_${asked.error.kind}` as const,
              content.from?.languageCode ?? null
            )
          )
        }
        const { answer } = asked
        const text = answer.text.trim() === "" ? "…" : answer.text
        const spoken = speaksAnswer(bot.voiceReplies, incoming, text)
        return Option.some(
          yield* account.settle(opened.tab, answer, store.answer(incoming, text, answer, spoken), beside)
        )
      })

      const generate = fn("Pipeline.ensureResponseGenerated")(function* (
        bot: Bot,
        token: Token,
        chat: Chat,
        incoming: Message,
        content: IncomingContent
      ) {
        const decided = yield* plan(bot, token, chat, incoming, content)
        switch (decided._tag) {
          case "Ignore":
            yield* Effect.logDebug("message not answered", { bot_id: bot.id, reason: decided.reason })
            return Option.none<Message>()
          case "Refuse":
            return yield* notices.refuse(bot, incoming, decided)
          case "FixedAnswer":
            return Option.some(yield* store.answer(incoming, decided.text))
          case "NewThread":
            return Option.some(yield* store.inNewThread(chat, incoming, decided.text))
          case "ShowUsage":
            return Option.some(
              yield* store.answer(incoming, yield* account.report(bot, incoming, textsFor(bot, content)))
            )
          case "ShowMemory":
            return Option.some(
              yield* showMemory(bot, token, chat, incoming, content.text, textsFor(bot, content))
            )
          case "AskModel":
            return yield* answerWithModel(bot, token, chat, incoming, content)
          case "ShowModes":
            return Option.some(
              yield* store.answer(
                incoming,
                modeAnswer(bot, chat, incoming.topicId, textsFor(bot, content)).text
              )
            )
          case "Retry": {
            const target = yield* retry(bot, incoming)
            if (target._tag === "Nothing") {
              return Option.some(yield* store.answer(incoming, textsFor(bot, content).text("retry.nothing")))
            }
            const { question } = target
            return yield* answerWithModel(bot, token, chat, incoming, questionContent(question), question)
          }
        }
      })

      const saveFailed = fn("Pipeline.saveFailed")(function* (
        bot: Bot,
        chat: Chat,
        incoming: Message,
        reason: string,
        notice: string,
        kind?: FailureKind,
        languageCode?: string | null
      ) {
        // Retries ran out (a model timing out, say) after tool steps: what they cost still counts.
        yield* account.stepsSpentOnGivingUp(bot, incoming)
        return yield* store.failed(bot, chat, incoming, reason, notice, kind, languageCode)
      })

      return GenerateReply.of({ generate, saveFailed })
    })
  )
}
