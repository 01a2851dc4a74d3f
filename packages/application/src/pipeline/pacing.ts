/**
 * The token bucket both pacers use (Telegram's flood limits in sendBudget.ts,
 * a model key's rate limit in providerPacing.ts), with the two things a plain
 * bucket lacks:
 *
 * - it learns: a refusal halves its rate (not below `minShare` of the base),
 *   which then grows back linearly over `recoverMs` (additive increase,
 *   multiplicative decrease), and can hold it shut until a `retry_after`;
 * - a wait too long to sleep through in a slot becomes a ticket: the token is
 *   spent now (so later callers queue behind it) and the caller is told when
 *   its turn comes; the chat is handed back until then and, when it returns,
 *   its ticket is its turn.
 *
 * Pure bookkeeping on numbers (epoch ms in, ms out): the callers own the clock.
 */

export interface Rate {
  readonly perSecond: number
  /** Sends allowed at once after a quiet spell. */
  readonly burst: number
}

export interface Learning {
  /** A refusal never takes the rate below this share of the base rate. */
  readonly minShare: number
  /** After a refusal the rate climbs back to the base linearly over this long. */
  readonly recoverMs: number
}

export interface Bucket {
  tokens: number
  updatedAt: number
  base: Rate
  /** The rate right after the last refusal, and when that was (null: at the base rate). */
  cut: number
  cutAt: number | null
  /** Nothing is let through before this (a `retry_after`). */
  shutUntil: number
}

export const newBucket = (base: Rate, now: number): Bucket => ({
  tokens: base.burst,
  updatedAt: now,
  base,
  cut: base.perSecond,
  cutAt: null,
  shutUntil: 0
})

/** The bucket's rate now: the base, or on its way back to it after a refusal. */
export const rateAt = (bucket: Bucket, learning: Learning, now: number): number => {
  if (bucket.cutAt === null) return bucket.base.perSecond
  const rate = bucket.cut + (bucket.base.perSecond * Math.max(0, now - bucket.cutAt)) / learning.recoverMs
  if (rate >= bucket.base.perSecond) {
    bucket.cutAt = null
    return bucket.base.perSecond
  }
  return rate
}

/** Tokens refilled up to `now` (nothing refills while shut); the burst shrinks with the rate. */
export const refill = (bucket: Bucket, learning: Learning, now: number): number => {
  const rate = rateAt(bucket, learning, now)
  const from = Math.max(bucket.updatedAt, Math.min(now, bucket.shutUntil))
  const burst = Math.max(1, (bucket.base.burst * rate) / bucket.base.perSecond)
  if (now > from) bucket.tokens = Math.min(burst, bucket.tokens + ((now - from) / 1000) * rate)
  bucket.updatedAt = Math.max(bucket.updatedAt, now)
  return rate
}

/** Spends a token (into debt when there is none); returns how long until it is repaid, in ms. */
export const spend = (bucket: Bucket, learning: Learning, now: number): number => {
  const rate = refill(bucket, learning, now)
  bucket.tokens -= 1
  const shut = Math.max(0, bucket.shutUntil - now)
  return shut + (bucket.tokens >= 0 ? 0 : Math.ceil((-bucket.tokens / rate) * 1000))
}

/** Whether a whole token is there now (at least `reserve` of them left after it); spends it if so. */
export const trySpend = (bucket: Bucket, learning: Learning, now: number, reserve = 0): boolean => {
  refill(bucket, learning, now)
  if (now < bucket.shutUntil || bucket.tokens < 1 + reserve) return false
  bucket.tokens -= 1
  return true
}

/** How long (ms) a caller arriving now would wait, without spending. */
export const waitOf = (bucket: Bucket, learning: Learning, now: number): number => {
  const rate = refill(bucket, learning, now)
  const shut = Math.max(0, bucket.shutUntil - now)
  return shut + (bucket.tokens >= 1 ? 0 : Math.ceil(((1 - bucket.tokens) / rate) * 1000))
}

/** A refusal: halve the rate (multiplicative decrease) and stay shut for `retryAfterMs`. */
export const refused = (bucket: Bucket, learning: Learning, now: number, retryAfterMs: number): void => {
  const rate = refill(bucket, learning, now)
  bucket.cut = Math.max(bucket.base.perSecond * learning.minShare, rate / 2)
  bucket.cutAt = now
  bucket.tokens = Math.min(bucket.tokens, 0)
  bucket.shutUntil = Math.max(bucket.shutUntil, now + retryAfterMs)
}

/** Turns already paid for, by key (a chat), as epoch ms; forgotten a minute after they were due. */
export class Tickets {
  private readonly due = new Map<string, number>()

  /** The caller's turn if it holds one (and keeps holding it), else undefined. */
  peek(key: string, now: number): number | undefined {
    const at = this.due.get(key)
    if (at !== undefined && at < now - 60_000) {
      // Never claimed (the chat went to another process): the turn is lost, the debt is repaid anyway.
      this.due.delete(key)
      return undefined
    }
    return at
  }

  take(key: string): void {
    this.due.delete(key)
  }

  give(key: string, at: number): void {
    if (this.due.size > 100_000) this.due.clear()
    this.due.set(key, at)
  }
}
