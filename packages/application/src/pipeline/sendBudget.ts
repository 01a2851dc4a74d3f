/**
 * Keeps sends inside Telegram's limits on our side, so a busy bot is slowed
 * rather than answered with 429s (and, if it kept going, flood-banned): about
 * 30 messages a second per bot, about one a second per chat with short
 * bursts, 20 a minute per group. A token bucket per bot and per chat; a send
 * over budget waits for its turn. Telegram's own `retry_after` still applies
 * on top (a 429 is retryable).
 *
 * The buckets are per process. A chat is worked on by one process at a time
 * (its lease), so the chat budget holds; with several processes each spends
 * its own bot budget.
 */
import type { BotId } from "@botfleet/domain"
import { Clock, Context, Effect, Layer } from "effect"

export interface Rate {
  readonly perSecond: number
  /** Sends allowed at once after a quiet spell. */
  readonly burst: number
}

export interface SendLimits {
  readonly perBot: Rate
  readonly perChat: Rate
  readonly perGroup: Rate
}

/**
 * A margin under Telegram's published numbers (30/s per bot, 1/s per chat,
 * 20/min per group): Telegram counts when requests arrive, and network jitter
 * can bring two sends spaced exactly 1 s apart closer than that.
 */
export const telegramLimits: SendLimits = {
  perBot: { perSecond: 25, burst: 25 },
  perChat: { perSecond: 0.9, burst: 4 },
  perGroup: { perSecond: 18 / 60, burst: 4 }
}

interface Bucket {
  tokens: number
  updatedAt: number
}

const isGroup = (chatType: string) => chatType === "group" || chatType === "supergroup"

export class SendBudget extends Context.Service<
  SendBudget,
  {
    /** Waits until one more message from `botId` to the chat fits in both budgets, and spends it. */
    readonly take: (botId: BotId, telegramChatId: number, chatType: string) => Effect.Effect<void>
  }
>()("@botfleet/application/SendBudget") {
  static readonly layerWith = (limits: SendLimits) =>
    Layer.sync(SendBudget, () => {
      const buckets = new Map<string, Bucket>()

      /** Spends a token (going into debt when there is none); returns how long the debt takes to repay. */
      const reserve = (key: string, rate: Rate, now: number): number => {
        let bucket = buckets.get(key)
        if (bucket === undefined) {
          // Forget idle buckets now and then: a full one is the same as none.
          if (buckets.size > 50_000) buckets.clear()
          bucket = { tokens: rate.burst, updatedAt: now }
          buckets.set(key, bucket)
        }
        bucket.tokens = Math.min(
          rate.burst,
          bucket.tokens + ((now - bucket.updatedAt) / 1000) * rate.perSecond
        )
        bucket.updatedAt = now
        bucket.tokens -= 1
        return bucket.tokens >= 0 ? 0 : Math.ceil((-bucket.tokens / rate.perSecond) * 1000)
      }

      const take = (botId: BotId, telegramChatId: number, chatType: string) =>
        Effect.flatMap(Clock.currentTimeMillis, (now) => {
          const wait = Math.max(
            reserve(botId, limits.perBot, now),
            reserve(`${botId}:${telegramChatId}`, isGroup(chatType) ? limits.perGroup : limits.perChat, now)
          )
          return wait > 0 ? Effect.sleep(wait) : Effect.void
        })

      return SendBudget.of({ take })
    })

  static readonly layer = SendBudget.layerWith(telegramLimits)
}
