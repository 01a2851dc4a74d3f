/**
 * Keeps sends inside Telegram's limits on our side, so a busy bot is slowed
 * rather than answered with 429s (and, if it kept going, flood-banned): about
 * 30 messages a second per bot, one a second per chat, 20 a minute per group.
 * A token bucket per bot and per chat (pacing.ts). Telegram's own
 * `retry_after` still applies on top (a 429 is retryable), and it teaches the
 * budget: the refused chat's rate halves and recovers over a minute; refusals
 * in two chats of one bot within two seconds do the same to the bot's.
 *
 * A wait of up to `holdSlotUpToMs` is slept where it is; a longer one (a bot
 * with a backlog of hundreds of chats) becomes a ticket and `Paced`: the chat
 * is handed back until its turn and holds no slot another bot could use.
 * Drafts (`sendMessageDraft`) count too, but never wait: one goes out only
 * when the chat has a whole token and the bot more than half its burst, so
 * replies go first and a skipped draft is replaced by the next.
 *
 * The buckets are per process. A chat is worked on by one process at a time
 * (its lease), so the chat budget holds; with several processes each spends
 * its own bot budget.
 *
 * Measured with the strict fake Telegram (one a second per chat, no burst):
 * the old burst of 4 per chat had 63 of 263 sends refused for 40 chats x 5
 * replies; a burst of 1 at 0.9 a second, none (0 of 200, all in order, 8.2 s where
 * the limits allow 6.7 s; `npm run bench -- flood`, shared 2-core machine).
 */
import { type BotId, isGroupChat } from "@botfleet/domain"
import { Clock, Context, Effect, Layer } from "effect"
import { Paced } from "./PipelineErrors.ts"
import * as Bucket from "./pacing.ts"

export type Rate = Bucket.Rate

export interface SendLimits {
  readonly perBot: Rate
  readonly perChat: Rate
  readonly perGroup: Rate
  /** Waits up to this long are slept in the slot; longer ones hand the chat back (`Paced`). */
  readonly holdSlotUpToMs: number
  readonly learning: Bucket.Learning
}

/**
 * A margin under Telegram's published numbers (30/s per bot, 1/s per chat,
 * 20/min per group), and no burst per chat: Telegram tolerates short bursts
 * but does not say how long, and counts when requests arrive, so network
 * jitter can bring two sends spaced exactly 1 s apart closer than that.
 */
export const telegramLimits: SendLimits = {
  perBot: { perSecond: 25, burst: 25 },
  perChat: { perSecond: 0.9, burst: 1 },
  perGroup: { perSecond: 18 / 60, burst: 1 },
  holdSlotUpToMs: 1_500,
  learning: { minShare: 0.25, recoverMs: 60_000 }
}

/** Refusals in this many chats of one bot within BOT_WINDOW_MS mean the bot's own limit. */
const BOT_REFUSALS = 2
const BOT_WINDOW_MS = 2_000

export class SendBudget extends Context.Service<
  SendBudget,
  {
    /** Waits until one more message from `botId` to the chat fits in both budgets, and spends it. */
    readonly take: (botId: BotId, telegramChatId: number, chatType: string) => Effect.Effect<void>
    /**
     * `take`, but a wait longer than `holdSlotUpToMs` fails with `Paced`
     * (its turn kept for the chat) instead of sleeping.
     */
    readonly takeOrPace: (
      botId: BotId,
      telegramChatId: number,
      chatType: string
    ) => Effect.Effect<void, Paced>
    /** A draft: spends and says true only when both budgets have room now; never waits. */
    readonly tryDraft: (botId: BotId, telegramChatId: number, chatType: string) => Effect.Effect<boolean>
    /** How long (ms) until the chat's budget has room for a draft (0: now); spends nothing. */
    readonly draftWait: (botId: BotId, telegramChatId: number, chatType: string) => Effect.Effect<number>
    /** Telegram answered 429: slow this chat (and the bot, if its other chats are refused too). */
    readonly refused: (
      botId: BotId,
      telegramChatId: number,
      chatType: string,
      retryAfterSeconds: number | null
    ) => Effect.Effect<void>
  }
>()("@botfleet/application/SendBudget") {
  static readonly layerWith = (limits: SendLimits) =>
    Layer.sync(SendBudget, () => {
      const buckets = new Map<string, Bucket.Bucket>()
      const tickets = new Bucket.Tickets()
      const recentRefusals = new Map<string, Array<{ readonly chat: number; readonly at: number }>>()
      const { learning } = limits

      const bucketOf = (key: string, rate: Rate, now: number) => {
        let bucket = buckets.get(key)
        if (bucket === undefined) {
          // Forget idle buckets now and then: a full one at the base rate is the same as none.
          if (buckets.size > 50_000) buckets.clear()
          bucket = Bucket.newBucket(rate, now)
          buckets.set(key, bucket)
        }
        return bucket
      }
      const botBucket = (botId: BotId, now: number) => bucketOf(botId, limits.perBot, now)
      const chatBucket = (botId: BotId, chatId: number, chatType: string, now: number) =>
        bucketOf(`${botId}:${chatId}`, isGroupChat(chatType) ? limits.perGroup : limits.perChat, now)

      /** When this send may go (epoch ms): its ticket, or a token of each budget spent now. */
      const turn = (botId: BotId, chatId: number, chatType: string, now: number) => {
        const ticket = tickets.peek(`${botId}:${chatId}`, now)
        if (ticket !== undefined) return { at: ticket, ticket: true }
        const wait = Math.max(
          Bucket.spend(botBucket(botId, now), learning, now),
          Bucket.spend(chatBucket(botId, chatId, chatType, now), learning, now)
        )
        return { at: now + wait, ticket: false }
      }

      const take = (botId: BotId, telegramChatId: number, chatType: string) =>
        Effect.flatMap(Clock.currentTimeMillis, (now) => {
          const { at } = turn(botId, telegramChatId, chatType, now)
          tickets.take(`${botId}:${telegramChatId}`)
          return at > now ? Effect.sleep(at - now) : Effect.void
        })

      const takeOrPace = (botId: BotId, telegramChatId: number, chatType: string) =>
        Effect.flatMap(Clock.currentTimeMillis, (now): Effect.Effect<void, Paced> => {
          const key = `${botId}:${telegramChatId}`
          const { at, ticket } = turn(botId, telegramChatId, chatType, now)
          if (at - now > limits.holdSlotUpToMs) {
            if (!ticket) tickets.give(key, at)
            return Effect.fail(new Paced({ until: at, reason: "Telegram send budget" }))
          }
          tickets.take(key)
          return at > now ? Effect.sleep(at - now) : Effect.void
        })

      const tryDraft = (botId: BotId, telegramChatId: number, chatType: string) =>
        Effect.map(Clock.currentTimeMillis, (now) => {
          // A reply waiting for its turn in this chat goes first.
          if (tickets.peek(`${botId}:${telegramChatId}`, now) !== undefined) return false
          const bot = botBucket(botId, now)
          const chat = chatBucket(botId, telegramChatId, chatType, now)
          if (Bucket.waitOf(chat, learning, now) > 0) return false
          if (!Bucket.trySpend(bot, learning, now, limits.perBot.burst / 2)) return false
          return Bucket.trySpend(chat, learning, now)
        })

      const draftWait = (botId: BotId, telegramChatId: number, chatType: string) =>
        Effect.map(Clock.currentTimeMillis, (now) =>
          Bucket.waitOf(chatBucket(botId, telegramChatId, chatType, now), learning, now)
        )

      const refused = (
        botId: BotId,
        telegramChatId: number,
        chatType: string,
        retryAfterSeconds: number | null
      ) =>
        Effect.map(Clock.currentTimeMillis, (now) => {
          const retryAfterMs = Math.max(1, retryAfterSeconds ?? 1) * 1000
          Bucket.refused(chatBucket(botId, telegramChatId, chatType, now), learning, now, retryAfterMs)
          const recent = (recentRefusals.get(botId) ?? []).filter((entry) => entry.at > now - BOT_WINDOW_MS)
          recent.push({ chat: telegramChatId, at: now })
          recentRefusals.set(botId, recent)
          if (new Set(recent.map((entry) => entry.chat)).size >= BOT_REFUSALS) {
            Bucket.refused(botBucket(botId, now), learning, now, retryAfterMs)
            recentRefusals.delete(botId)
          }
          if (recentRefusals.size > 10_000) recentRefusals.clear()
        })

      return SendBudget.of({ take, takeOrPace, tryDraft, draftWait, refused })
    })

  static readonly layer = SendBudget.layerWith(telegramLimits)
}
