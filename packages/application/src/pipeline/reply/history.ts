/**
 * Which of the thread's messages the model reads: the newest ones that fit
 * the bot's token budget (domain/contextBudget.ts) and its historyLimit,
 * whole and without gaps, led by the thread's running summary once the
 * thread has outgrown them.
 *
 * A thread that fits costs the history read it always did (one message more,
 * to tell whether older ones exist). It is counted only when its UTF-8 bytes
 * (domain's `tokensAtMost`, never fewer than its tokens) do not already fit:
 * the first reply of a process would otherwise load an encoding (~310 ms of
 * CPU) that a short thread never needs. Counts are remembered per message by
 * the TokenCounter. Only a thread that does not fit reads its newest summary;
 * only when messages would be lost that no summary covers is one made: the
 * older turns (and the summary before) folded by one call to the bot's model,
 * keeping the newest half of the budget as messages, so the next summary is
 * many turns away. The summary is stored once per span (its last message):
 * a crash before the answer is stored finds it on the rerun, which neither
 * asks again nor pays twice; its use is added to the answer it was made for.
 *
 * A summary that cannot be made costs nothing but the summary: the answer
 * goes on from the newest messages that fit.
 */
import { randomUUID } from "node:crypto"
import {
  type Bot,
  type Chat,
  chooseHistory,
  estimateTokens,
  historyRoom,
  IMAGE_TOKENS,
  isAfterSummary,
  MESSAGE_OVERHEAD_TOKENS,
  Message,
  promptBudget,
  SUMMARY_LEAD,
  SUMMARY_PROMPT,
  summaryOutputTokens,
  ThreadSummary,
  tokensAtMost
} from "@botfleet/domain"
import { Clock, Effect, Option } from "effect"
import { spanFn } from "../../observability/spanFn.ts"
import { type ChatTurn, LanguageModel } from "../../ports/LanguageModel.ts"
import { MessageRepository } from "../../ports/Repositories.ts"
import { ThreadSummaries } from "../../ports/ThreadSummaries.ts"
import { TokenCounter } from "../../ports/TokenCounter.ts"
import { type ModelChoice, ProviderAccess } from "../../providers/ProviderAccess.ts"

/** The most messages a summary reads back when the ones to fold are older than the answer's window. */
export const SUMMARY_READ_LIMIT = 200
/** A message too long for the budget keeps its start, marked as cut. */
export const CUT_MARK = " […cut: too long]"
/** The message being answered keeps at least this many tokens, whatever else the budget holds. */
const MIN_INCOMING_TOKENS = 64

export interface Spent {
  readonly tokens: number
  readonly costUsd: number
}

export const NOTHING_SPENT: Spent = { tokens: 0, costUsd: 0 }

export const addSpent = (one: Spent, other: Spent): Spent => ({
  tokens: one.tokens + other.tokens,
  costUsd: one.costUsd + other.costUsd
})

export interface Selection {
  /** Oldest first; the message being answered last, its text cut when it alone does not fit. */
  readonly messages: ReadonlyArray<Message>
  /** The running summary that leads them; null when none is needed. */
  readonly summary: string | null
}

export interface FittedHistory extends Selection {
  /** A summary made for this answer: its use, counted with the answer's. */
  readonly spent: Spent
  /**
   * The same within half the room: for the one retry after the model found
   * the prompt too long. Made when asked: it counts what the first try may not have.
   */
  readonly shorter: () => Selection
}

/** The summary as the model reads it: a system turn after the fixed ones, before the history. */
export const leadWith = (turns: ReadonlyArray<ChatTurn>, summary: string | null): ReadonlyArray<ChatTurn> => {
  if (summary === null) return turns
  const at = turns.findIndex((turn) => turn.role !== "system")
  const index = at === -1 ? turns.length : at
  return [
    ...turns.slice(0, index),
    { role: "system", content: `${SUMMARY_LEAD}${summary}` },
    ...turns.slice(index)
  ]
}

/** `text` cut at `length` without splitting a surrogate pair. */
const sliceText = (text: string, length: number): string => {
  const code = text.charCodeAt(length - 1)
  return text.slice(0, code >= 0xd800 && code <= 0xdbff ? length - 1 : length)
}

export const makeHistory = Effect.gen(function* () {
  const fn = yield* spanFn
  const messages = yield* MessageRepository
  const summaries = yield* ThreadSummaries
  const counter = yield* TokenCounter
  const providers = yield* ProviderAccess
  const languageModel = yield* LanguageModel

  /** The answer's window: historyLimit messages and one more, to tell whether older ones exist. */
  const read = (bot: Bot, chat: Chat, incoming: Message) =>
    messages.history(chat.id, incoming.thread, incoming.topicId, Math.max(bot.historyLimit, 1) + 1)

  /** `text` within `tokens`: its start, cut a little more each try until it fits. */
  const cutToFit = (model: string, text: string, tokens: number): string => {
    const whole = counter.count(model, text)
    if (whole <= tokens) return text
    let keep = Math.floor((text.length * tokens) / whole)
    for (let attempt = 0; attempt < 8 && keep > 0; attempt++) {
      const cut = `${sliceText(text, keep)}${CUT_MARK}`
      if (counter.count(model, cut) <= tokens) return cut
      keep = Math.floor(keep * 0.8)
    }
    return CUT_MARK.trim()
  }

  /**
   * What the fixed turns (system prompt, passages) and an image take, each turn by `tokensOf`:
   * counted, or bounded by its bytes (`tokensAtMost`) with nothing counted.
   */
  const fixedTokensOf = (
    fixed: ReadonlyArray<ChatTurn>,
    withImage: boolean,
    tokensOf: (text: string) => number
  ) => {
    let tokens = withImage ? IMAGE_TOKENS : 0
    for (const turn of fixed) tokens += tokensOf(turn.content) + MESSAGE_OVERHEAD_TOKENS
    return tokens
  }

  const summaryTokens = (model: string, summary: ThreadSummary | null) =>
    summary === null
      ? 0
      : counter.countStored(model, `summary:${summary.id}`, summary.text) +
        counter.count(model, SUMMARY_LEAD) +
        MESSAGE_OVERHEAD_TOKENS

  /** The folding call: the earlier summary and the messages to fold, newest kept when they are too many. */
  const summarise = (
    choice: ModelChoice,
    room: number,
    length: number,
    previous: ThreadSummary | null,
    fold: ReadonlyArray<Message>
  ) => {
    const lines: Array<string> = []
    let left = room - (previous === null ? 0 : counter.count(choice.model, previous.text))
    for (let index = fold.length - 1; index >= 0 && left > 0; index--) {
      const message = fold[index]!
      const speaker = message.role === "user" ? (message.senderName ?? "User") : "Assistant"
      const tokens = counter.countStored(choice.model, message.id, message.text) + MESSAGE_OVERHEAD_TOKENS
      const text = tokens <= left ? message.text : cutToFit(choice.model, message.text, left)
      lines.unshift(`${speaker}: ${text}`)
      left -= tokens
    }
    const conversation = [
      ...(previous === null ? [] : [`Earlier summary: ${previous.text}`, ""]),
      "Conversation:",
      ...lines
    ].join("\n")
    return languageModel.complete({
      ...choice,
      maxOutputTokens: length,
      messages: [
        { role: "system", content: SUMMARY_PROMPT },
        { role: "user", content: conversation }
      ]
    })
  }

  /**
   * The history for one answer. `raw` is what `read` returned; `fixed` the
   * turns before the history (system prompt, passages), `withImage` whether
   * the message being answered carries a photo.
   */
  const fit = fn("Pipeline.fitHistory")(function* (
    bot: Bot,
    chat: Chat,
    incoming: Message,
    raw: ReadonlyArray<Message>,
    fixed: ReadonlyArray<ChatTurn>,
    withImage: boolean
  ) {
    // A provider that cannot be loaded fails the ask that follows; here it only names the model.
    const choice = yield* providers.modelFor(bot).pipe(Effect.option)
    const model = Option.match(choice, { onNone: () => bot.model ?? "", onSome: (choice) => choice.model })
    const budget = promptBudget(
      {
        contextTokens: bot.contextTokens,
        maxOutputTokens: Option.match(choice, {
          onNone: () => bot.maxOutputTokens,
          onSome: (choice) => choice.maxOutputTokens ?? null
        })
      },
      model
    )
    const limit = Math.max(bot.historyLimit, 1)
    const window = raw.slice(-limit)
    const olderExist = raw.length > limit

    // In groups the model reads "Name: text": the name is counted too (an estimate: names are short).
    const nameTokens = (message: Message) =>
      message.role === "user" && message.senderName !== null ? estimateTokens(message.senderName) + 1 : 0
    const tokensOf = (message: Message) =>
      counter.countStored(model, message.id, message.text) + MESSAGE_OVERHEAD_TOKENS + nameTokens(message)

    // The fixed turns counted when first needed: a thread that fits by its bytes never is.
    let counted: number | undefined
    const exactRoom = () => {
      // The system prompt is the same text answer after answer: remembered under itself.
      const counting = (text: string) => counter.countStored(model, text, text)
      counted ??= historyRoom(budget, fixedTokensOf(fixed, withImage, counting))
      return counted
    }

    /** The newest messages within `tokens` and `count`, after `summary` and led by it. */
    const select = (tokens: number, count: number, summary: ThreadSummary | null) => {
      const leading = summaryTokens(model, summary)
      const incomingRoom = Math.max(MIN_INCOMING_TOKENS, tokens - leading - MESSAGE_OVERHEAD_TOKENS)
      const costs = new Map<Message, number>()
      const candidates = (
        summary === null ? window : window.filter((message) => isAfterSummary(summary, message))
      ).map((message) => {
        if (message.id !== incoming.id || tokensOf(message) - MESSAGE_OVERHEAD_TOKENS <= incomingRoom) {
          return message
        }
        // Too long on its own: its start is answered rather than nothing.
        const cut = new Message({ ...message, text: cutToFit(model, message.text, incomingRoom) })
        costs.set(cut, counter.count(model, cut.text) + MESSAGE_OVERHEAD_TOKENS)
        return cut
      })
      const chosen = chooseHistory(
        candidates,
        (message) => costs.get(message) ?? tokensOf(message),
        tokens - leading,
        count
      )
      return { ...chosen, summary }
    }
    const selectionOf = (chosen: ReturnType<typeof select>): Selection => ({
      messages: chosen.kept,
      summary: chosen.summary?.text ?? null
    })
    const done = (chosen: ReturnType<typeof select>, spent: Spent): FittedHistory => ({
      ...selectionOf(chosen),
      spent,
      shorter: () => selectionOf(shorterOf(chosen.summary))
    })
    /** Half the room; the summary only when it leaves the message being answered its minimum. */
    const shorterOf = (summary: ThreadSummary | null) => {
      const half = Math.floor(exactRoom() / 2)
      return select(
        half,
        limit,
        summary !== null && summaryTokens(model, summary) + MIN_INCOMING_TOKENS <= half ? summary : null
      )
    }

    // The whole window within the room by its bytes: it fits counted too (the message being
    // answered included, uncut), so the exact choice below would keep it all. Nothing is counted.
    if (!olderExist) {
      let bound = 0
      for (const message of window)
        bound += tokensAtMost(message.text) + MESSAGE_OVERHEAD_TOKENS + nameTokens(message)
      if (bound <= historyRoom(budget, fixedTokensOf(fixed, withImage, tokensAtMost))) {
        return {
          messages: window,
          summary: null,
          spent: NOTHING_SPENT,
          shorter: () => selectionOf(shorterOf(null))
        }
      }
    }
    const room = exactRoom()
    // The common case: the whole window fits and nothing older exists. No summary is read.
    const plain = select(room, limit, null)
    if (plain.dropped.length === 0 && !olderExist) return done(plain, NOTHING_SPENT)

    const stored = Option.getOrNull(yield* summaries.latest(chat.id, incoming.thread, incoming.topicId))
    // A summary made for this very message by a run that crashed before its answer was stored.
    const owed = (summary: ThreadSummary | null): Spent =>
      summary !== null && summary.chargedTo === incoming.id
        ? { tokens: summary.inputTokens + summary.outputTokens, costUsd: summary.costUsd }
        : NOTHING_SPENT
    const led = select(room, limit, stored)
    // Every message the summary does not cover is read (the window reaches back into what it covers).
    const coveredInWindow = stored !== null && raw.some((message) => !isAfterSummary(stored, message))
    if (led.dropped.length === 0 && (coveredInWindow || !olderExist)) return done(led, owed(stored))
    if (Option.isNone(choice)) return done(led, NOTHING_SPENT)

    // Fold: keep the newest half (of the room left beside a new summary, and of the limit) as messages.
    const summaryLength = summaryOutputTokens(budget.total)
    const keepRoom = Math.floor((room - summaryLength - MESSAGE_OVERHEAD_TOKENS) / 2)
    // The old summary is being replaced: its tokens are not taken from the messages kept.
    const keep = select(Math.max(0, keepRoom) + summaryTokens(model, stored), Math.ceil(limit / 2), stored)
    const firstKept = keep.kept[0]!
    const thread =
      olderExist && !coveredInWindow
        ? yield* messages.history(chat.id, incoming.thread, incoming.topicId, SUMMARY_READ_LIMIT)
        : raw
    const fold = thread.filter(
      (message) =>
        (stored === null || isAfterSummary(stored, message)) &&
        isAfterSummary({ coversUpTo: message.id, coversUpToAt: message.createdAt }, firstKept)
    )
    const last = fold.at(-1)
    if (last === undefined) return done(led, owed(stored))

    // The folding request reads the same model's window: the prompt and the summary's room left out.
    const summaryRoom = budget.total - summaryLength - counter.count(model, SUMMARY_PROMPT) - 50
    const made = yield* summarise(choice.value, summaryRoom, summaryLength, stored, fold).pipe(
      Effect.map(Option.some),
      Effect.catchTag("LlmError", (error) =>
        Effect.as(
          Effect.logWarning("thread not summarised, answering from the newest messages", {
            bot_id: bot.id,
            reason: error.message
          }),
          Option.none()
        )
      )
    )
    if (Option.isNone(made) || made.value.text.trim() === "") return done(led, owed(stored))
    const completion = made.value
    const summary = new ThreadSummary({
      id: randomUUID(),
      botId: bot.id,
      chatId: chat.id,
      thread: incoming.thread,
      topicId: incoming.topicId,
      coversUpTo: last.id,
      coversUpToAt: last.createdAt,
      // A server that ignores max_tokens must not let the summary crowd out the messages.
      text: cutToFit(model, completion.text.trim(), summaryLength),
      model: completion.model,
      inputTokens: completion.inputTokens,
      outputTokens: completion.outputTokens,
      costUsd: completion.costUsd,
      chargedTo: incoming.id,
      createdAt: new Date(yield* Clock.currentTimeMillis)
    })
    // Another run stored the same span first: its text is used; this call was paid all the same.
    const inserted = yield* summaries.insert(summary)
    const current = inserted
      ? summary
      : Option.getOrElse(yield* summaries.latest(chat.id, incoming.thread, incoming.topicId), () => summary)
    yield* Effect.logInfo("thread summarised", {
      bot_id: bot.id,
      folded: fold.length,
      tokens: completion.inputTokens + completion.outputTokens
    })
    return done(select(room, limit, current), {
      tokens: completion.inputTokens + completion.outputTokens,
      costUsd: completion.costUsd
    })
  })

  return { read, fit }
})
