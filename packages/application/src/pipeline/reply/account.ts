/**
 * A sender's use of the model, counted once per answer. With limits, the
 * use is reserved before the model is asked, so concurrent messages cannot
 * all slip under one, and settled once the answer is stored. Without, it is
 * only counted, in one write once the answer is known. `/usage` reads it back.
 */
import {
  type Bot,
  type BotTexts,
  hasLimits,
  type LimitCheck,
  type Message,
  usageText
} from "@botfleet/domain"
import { Clock, Effect } from "effect"
import type { Completion } from "../../ports/LanguageModel.ts"
import { ToolCallRepository } from "../../ports/ToolCalls.ts"
import { type UsageKey, UsageLedger } from "../../ports/UsageLedger.ts"
import { NOTHING_SPENT, type Spent } from "./history.ts"
import { storedStepsSpent } from "./tools.ts"

/** One answer's account, opened before the model is asked. */
export interface Tab {
  readonly key: UsageKey
  readonly at: Date
  /** Reserved against the bot's limits (settled later) rather than recorded once. */
  readonly limited: boolean
}

export type Opened =
  | { readonly _tag: "Open"; readonly tab: Tab }
  | { readonly _tag: "OverLimit"; readonly over: Extract<LimitCheck, { _tag: "OverLimit" }> }

export const makeAccount = Effect.gen(function* () {
  const ledger = yield* UsageLedger
  const toolCalls = yield* ToolCallRepository

  const open = (bot: Bot, incoming: Message) =>
    Effect.gen(function* () {
      const at = new Date(yield* Clock.currentTimeMillis)
      const key: UsageKey = { botId: bot.id, userId: incoming.tgUserId, messageId: incoming.id }
      const limited = hasLimits(bot.limits)
      const check: LimitCheck = limited
        ? yield* ledger.reserve(key, bot.limits, at)
        : { _tag: "WithinLimits" }
      return check._tag === "OverLimit"
        ? ({ _tag: "OverLimit", over: check } satisfies Opened)
        : ({ _tag: "Open", tab: { key, at, limited } } satisfies Opened)
    })

  /**
   * The model refused for good: the message counts, with what was spent before
   * the refusal (a summary, tool steps, a search's embedding), once per message.
   */
  const nothingSpent = (tab: Tab, context: Spent = NOTHING_SPENT) =>
    !tab.limited
      ? ledger.record(tab.key, context, tab.at)
      : context.tokens > 0
        ? ledger.settle(tab.key.messageId, context)
        : Effect.void

  /**
   * `store`s the answer with its use counted once. Without limits it is
   * recorded before the reply is stored: a rerun after a crash in between
   * generates (and pays) again and records nothing twice; a stored reply is
   * never generated again. With limits the reservation is settled to the
   * real use once the reply is stored.
   */
  const settle = <A, E, R>(
    tab: Tab,
    answer: Completion,
    store: Effect.Effect<A, E, R>,
    /** What making the context cost (a running summary), on top of the answer. */
    context: Spent = NOTHING_SPENT
  ) => {
    const spent = {
      tokens: answer.inputTokens + answer.outputTokens + context.tokens,
      costUsd: answer.costUsd + context.costUsd
    }
    return tab.limited
      ? Effect.tap(store, () => ledger.settle(tab.key.messageId, spent))
      : Effect.andThen(ledger.record(tab.key, spent, tab.at), store)
  }

  /**
   * Giving up on a message after retries: the tool steps its turns stored
   * were paid for, so they are counted, once per message as any answer's use
   * (a reservation settles once; a record is made once). Nothing stored,
   * nothing counted, as before.
   */
  const stepsSpentOnGivingUp = (bot: Bot, incoming: Message) =>
    Effect.gen(function* () {
      const spent = storedStepsSpent(yield* toolCalls.forMessages([incoming.id]))
      if (spent.tokens === 0 && spent.costUsd === 0) return
      const at = new Date(yield* Clock.currentTimeMillis)
      const key: UsageKey = { botId: bot.id, userId: incoming.tgUserId, messageId: incoming.id }
      yield* hasLimits(bot.limits) ? ledger.settle(incoming.id, spent) : ledger.record(key, spent, at)
    })

  /** `/usage`: the sender's own use against the bot's limits, as text. */
  const report = (bot: Bot, incoming: Message, texts: BotTexts) =>
    Effect.gen(function* () {
      const at = new Date(yield* Clock.currentTimeMillis)
      return usageText(bot.limits, yield* ledger.usage(bot.id, incoming.tgUserId, at), at, texts)
    })

  return { open, nothingSpent, settle, stepsSpentOnGivingUp, report }
})
