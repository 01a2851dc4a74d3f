/**
 * Paces calls to the model per provider key, so a burst does not retry into
 * a wall of 429s while every bot on that key waits. Nothing is paced until
 * the provider says something: its `x-ratelimit-limit-requests` sets the rate
 * (a per-minute limit, so limit / 60 a second, bursts of a tenth of it), its
 * `x-ratelimit-remaining-*` bring our count down to what it has left (other
 * processes and programs may share the key), and a 429's `retry-after` shuts
 * the key until then and halves the rate, which grows back over a minute
 * (pacing.ts). A call that would wait longer than `holdSlotUpToMs` fails
 * with `Paced`: the chat is handed back until its turn and holds no slot,
 * and the update is not counted as an attempt, so no reply is lost however
 * long the key stays limited. A key refusing for longer than `stalledAfterMs`
 * is reported (`stalledBots`) for the `llm_failing` alert.
 *
 * Per process, like the send budget: with several processes each paces
 * itself, and the provider's `remaining` headers keep them honest.
 */
import { Clock, Context, Effect, Layer } from "effect"
import type { LlmError, RateLimitInfo } from "../ports/LanguageModel.ts"
import { Paced } from "./PipelineErrors.ts"
import * as Bucket from "./pacing.ts"

export interface ProviderPacingOptions {
  readonly holdSlotUpToMs: number
  readonly learning: Bucket.Learning
  /** A key refusing calls for this long (no answer in between) raises `llm_failing` for its bots. */
  readonly stalledAfterMs: number
}

export const defaultProviderPacing: ProviderPacingOptions = {
  holdSlotUpToMs: 1_500,
  learning: { minShare: 0.1, recoverMs: 60_000 },
  stalledAfterMs: 5 * 60_000
}

export interface PacedBot {
  readonly id: string
  readonly name: string
}

interface KeyState {
  /** null: the provider has said nothing about its limits; calls go straight through. */
  bucket: Bucket.Bucket | null
  /** Answers in the last minute, to guess a rate from when a 429 comes without a limit header. */
  answered: Array<number>
  limitedSince: number | null
  reason: string
  readonly bots: Map<string, string>
}

/** The key a request is paced under: its provider, or the env default. */
export const providerKey = (providerId: string | undefined): string => providerId ?? "default"

export class ProviderPacing extends Context.Service<
  ProviderPacing,
  {
    /** Waits for the key's turn, or fails with `Paced` when it is further off than a slot should wait. */
    readonly admit: (key: string, chatKey: string) => Effect.Effect<void, Paced>
    /** The provider answered; what its headers say about the limit. */
    readonly answered: (key: string, info: RateLimitInfo | undefined) => Effect.Effect<void>
    /** The provider refused (429): learn from it; the `Paced` to fail with (the chat's turn). */
    readonly refused: (key: string, chatKey: string, bot: PacedBot, error: LlmError) => Effect.Effect<Paced>
    /** Bots on a key that has refused for longer than `stalledAfterMs`, with why. */
    readonly stalledBots: Effect.Effect<ReadonlyArray<PacedBot & { readonly error: string }>>
  }
>()("@botfleet/application/ProviderPacing") {
  static readonly layerWith = (options: ProviderPacingOptions) =>
    Layer.sync(ProviderPacing, () => {
      const keys = new Map<string, KeyState>()
      const tickets = new Bucket.Tickets()
      const { learning } = options

      const stateOf = (key: string): KeyState => {
        let state = keys.get(key)
        if (state === undefined) {
          state = { bucket: null, answered: [], limitedSince: null, reason: "", bots: new Map() }
          keys.set(key, state)
        }
        return state
      }

      /** The provider's per-minute request limit as a bucket (kept, with its learning, when unchanged). */
      const ensureBucket = (state: KeyState, perMinute: number, now: number): Bucket.Bucket => {
        // 5 % under the limit: our clock and the provider's do not start the minute together.
        const base = { perSecond: (perMinute * 0.95) / 60, burst: Math.max(1, Math.floor(perMinute / 10)) }
        if (state.bucket === null) state.bucket = Bucket.newBucket(base, now)
        else if (state.bucket.base.perSecond !== base.perSecond) state.bucket.base = base
        return state.bucket
      }

      const learn = (state: KeyState, info: RateLimitInfo | undefined | null, now: number) => {
        if (info === undefined || info === null) return
        if (info.limitRequests !== null && info.limitRequests > 0) {
          ensureBucket(state, info.limitRequests, now)
        }
        const bucket = state.bucket
        if (bucket === null) return
        Bucket.refill(bucket, learning, now)
        if (info.remainingRequests !== null) bucket.tokens = Math.min(bucket.tokens, info.remainingRequests)
        // Out of tokens (as in words): nothing gets through until that window refills.
        if (info.remainingTokens !== null && info.remainingTokens <= 0) {
          bucket.shutUntil = Math.max(bucket.shutUntil, now + (info.resetTokensSeconds ?? 1) * 1000)
        }
      }

      const admit = (key: string, chatKey: string) =>
        Effect.flatMap(Clock.currentTimeMillis, (now): Effect.Effect<void, Paced> => {
          const bucket = keys.get(key)?.bucket
          if (bucket === null || bucket === undefined) return Effect.void
          const ticketKey = `${key}|${chatKey}`
          const ticket = tickets.peek(ticketKey, now)
          const at = ticket ?? now + Bucket.spend(bucket, learning, now)
          if (at - now > options.holdSlotUpToMs) {
            if (ticket === undefined) tickets.give(ticketKey, at)
            return Effect.fail(new Paced({ until: at, reason: `model key ${key} paced` }))
          }
          tickets.take(ticketKey)
          return at > now ? Effect.sleep(at - now) : Effect.void
        })

      const answered = (key: string, info: RateLimitInfo | undefined) =>
        Effect.map(Clock.currentTimeMillis, (now) => {
          const state = stateOf(key)
          state.answered.push(now)
          if (state.answered.length > 2_000 || (state.answered[0] ?? now) < now - 60_000) {
            state.answered = state.answered.filter((at) => at >= now - 60_000)
          }
          state.limitedSince = null
          state.bots.clear()
          learn(state, info, now)
        })

      const refused = (key: string, chatKey: string, bot: PacedBot, error: LlmError) =>
        Effect.map(Clock.currentTimeMillis, (now) => {
          const state = stateOf(key)
          learn(state, error.rateLimit, now)
          if (state.bucket === null) {
            // No limit header: guess from what got through in the last minute, half of it to start,
            // and at least a call per retry-after (what the refusal itself says): on a quiet key a
            // guess of one a minute had a refused chat wait two minutes for a 3 s retry-after.
            const recent = state.answered.filter((at) => at >= now - 60_000).length
            const implied = 60 / Math.max(1, error.retryAfterSeconds ?? 60)
            ensureBucket(state, Math.max(1, recent, implied), now)
          }
          const bucket = state.bucket!
          Bucket.refused(bucket, learning, now, Math.max(1, error.retryAfterSeconds ?? 1) * 1000)
          state.limitedSince ??= now
          state.reason = error.description
          state.bots.set(bot.id, bot.name)
          const ticketKey = `${key}|${chatKey}`
          const at = now + Bucket.spend(bucket, learning, now)
          tickets.give(ticketKey, at)
          return new Paced({ until: at, reason: error.message })
        })

      const stalledBots = Effect.map(Clock.currentTimeMillis, (now) => {
        const bots: Array<PacedBot & { readonly error: string }> = []
        for (const [key, state] of keys) {
          if (state.limitedSince === null || now - state.limitedSince < options.stalledAfterMs) continue
          const minutes = Math.round((now - state.limitedSince) / 60_000)
          for (const [id, name] of state.bots) {
            bots.push({
              id,
              name,
              error: `rate limited (${key === "default" ? "the default provider" : `provider ${key}`}) for ${minutes} min; replies wait, none is lost: ${state.reason}`
            })
          }
        }
        return bots
      })

      return ProviderPacing.of({ admit, answered, refused, stalledBots })
    })

  static readonly layer = ProviderPacing.layerWith(defaultProviderPacing)
}
