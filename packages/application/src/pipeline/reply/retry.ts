/**
 * `/retry`: which question is answered again, and what it replaces. The
 * question is the conversation's newest message from a user that is not a
 * command; everything after it (the answer, earlier answers given again, the
 * `/retry` itself) is marked replaced: kept in the transcript, left out of
 * the model's history. The new answer is the reply to the `/retry`, so the
 * usual unique reply makes it once: a rerun after a crash finds no stale
 * messages left (they are out of the history) and the same question, and a
 * stored answer is sent, never made again.
 */
import { type Bot, type IncomingContent, type Message, parseCommand } from "@botfleet/domain"
import { Effect } from "effect"
import { MessageRepository } from "../../ports/Repositories.ts"
import type { StoreReply } from "./store.ts"

/** How far back in the conversation the question is looked for. */
export const RETRY_LOOKBACK = 50

export type RetryTarget =
  | { readonly _tag: "Question"; readonly question: Message; readonly stale: ReadonlyArray<Message> }
  | { readonly _tag: "Nothing" }

/** The question to answer again in `history` (oldest first), and the messages after it. */
export const retryTarget = (bot: Bot, history: ReadonlyArray<Message>, retry: Message): RetryTarget => {
  for (let index = history.length - 1; index >= 0; index--) {
    const message = history[index]!
    if (message.id === retry.id || message.role !== "user") continue
    if (parseCommand(message.text, bot.username) !== undefined) continue
    const stale = history.slice(index + 1)
    // The /retry is stale too: it asked for this answer, not a question of its own (on a rerun it is marked already).
    const retryToMark = retry.replacedAt === null && !stale.some((m) => m.id === retry.id) ? [retry] : []
    return { _tag: "Question", question: message, stale: [...stale, ...retryToMark] }
  }
  return { _tag: "Nothing" }
}

/** What the model is asked: the question's stored words (a photo's are its placeholder and caption). */
export const questionContent = (question: Message): IncomingContent => ({
  text: question.text,
  unsupported: null,
  replyToUserId: null,
  fromChannel: false
})

export const makeRetry = (store: StoreReply) =>
  Effect.gen(function* () {
    const messages = yield* MessageRepository
    return Effect.fnUntraced(function* (bot: Bot, retry: Message) {
      const history = yield* messages.history(retry.chatId, retry.thread, retry.topicId, RETRY_LOOKBACK)
      const target = retryTarget(bot, history, retry)
      if (target._tag === "Question") yield* store.replace(target.stale)
      return target
    })
  })
