/**
 * A sender's use of the model, counted once per answer. With limits, the
 * use is reserved before the model is asked, so concurrent messages cannot
 * all slip under one, and settled once the answer is stored. Without, it is
 * only counted, in one write once the answer is known. `/usage` reads it back.
 */
import { type Bot, hasLimits, type LimitCheck, type Message, usageText } from "@botfleet/domain"
import { Clock, Effect } from "effect"
import type { Completion } from "../../ports/LanguageModel.ts"
import { type UsageKey, UsageLedger } from "../../ports/UsageLedger.ts"

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

  /** The model refused for good: the message counts, its tokens and cost are none. */
  const nothingSpent = (tab: Tab) =>
    tab.limited ? Effect.void : ledger.record(tab.key, { tokens: 0, costUsd: 0 }, tab.at)

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
    /** Spent beside the model for this answer (embedding the question for the knowledge bases). */
    besides: { readonly tokens: number; readonly costUsd: number } = { tokens: 0, costUsd: 0 }
  ) => {
    const spent = {
      tokens: answer.inputTokens + answer.outputTokens + besides.tokens,
      costUsd: answer.costUsd + besides.costUsd
    }
    return tab.limited
      ? Effect.tap(store, () => ledger.settle(tab.key.messageId, spent))
      : Effect.andThen(ledger.record(tab.key, spent, tab.at), store)
  }

  /** `/usage`: the sender's own use against the bot's limits, as text. */
  const report = (bot: Bot, incoming: Message) =>
    Effect.gen(function* () {
      const at = new Date(yield* Clock.currentTimeMillis)
      return usageText(bot.limits, yield* ledger.usage(bot.id, incoming.tgUserId, at), at)
    })

  return { open, nothingSpent, settle, report }
})
