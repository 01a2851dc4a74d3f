/**
 * What a sender is told at most once per window instead of an answer: that
 * they may not talk to the bot (once a day) or that they reached a limit
 * (once per limit window). A notice is claimed in the ledger first, so
 * concurrent messages and reruns tell it once; the others get no reply.
 */
import {
  type Bot,
  type BotTexts,
  type LimitCheck,
  limitValues,
  type Message,
  type ReplyPlan,
  windowStart
} from "@botfleet/domain"
import { Clock, Effect, Option } from "effect"
import * as Metrics from "../../observability/metrics.ts"
import { spanFn } from "../../observability/spanFn.ts"
import { UsageLedger } from "../../ports/UsageLedger.ts"
import type { StoreReply } from "./store.ts"

export const makeNotices = (store: StoreReply) =>
  Effect.gen(function* () {
    const fn = yield* spanFn
    const ledger = yield* UsageLedger

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
      return Option.some(yield* store.answer(incoming, text))
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

    /** Over a limit: counted, told once per window, never the model. */
    const overLimit = (
      bot: Bot,
      incoming: Message,
      over: Extract<LimitCheck, { _tag: "OverLimit" }>,
      texts: BotTexts
    ) =>
      Effect.andThen(
        Metrics.count(Metrics.limitReached, { bot: bot.id, limit: over.limit }),
        noticeOnce(
          bot,
          incoming,
          `limit:${over.limit}`,
          over.windowStart,
          texts.text("limit", limitValues(over, texts))
        )
      )

    return { refuse, overLimit }
  })
