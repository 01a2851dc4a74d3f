/**
 * Fixed-window counters in memory, per process: enough to slow down password
 * guessing. Several processes each keep their own count.
 */
import { Context, Effect, Layer } from "effect"

export interface Limit {
  readonly max: number
  readonly windowMs: number
}

export interface RateState {
  readonly allowed: boolean
  readonly limit: number
  readonly remaining: number
  /** Seconds until the window resets. */
  readonly resetSeconds: number
}

export class RateLimiter extends Context.Service<
  RateLimiter,
  {
    /** Where `key` stands without counting anything. */
    readonly check: (key: string, limit: Limit) => Effect.Effect<RateState>
    /** Counts one event against `key`; `allowed` says whether this event is within the limit. */
    readonly hit: (key: string, limit: Limit) => Effect.Effect<RateState>
    readonly reset: (key: string) => Effect.Effect<void>
  }
>()("@botfleet/server/RateLimiter") {
  static readonly layer = Layer.sync(RateLimiter, () => {
    const windows = new Map<string, { count: number; startedAt: number }>()
    const current = (key: string, limit: Limit, now: number) => {
      const window = windows.get(key)
      if (!window || now - window.startedAt >= limit.windowMs) {
        const fresh = { count: 0, startedAt: now }
        windows.set(key, fresh)
        return fresh
      }
      return window
    }
    const state = (
      window: { count: number; startedAt: number },
      limit: Limit,
      now: number,
      counted = false
    ): RateState => ({
      allowed: counted ? window.count <= limit.max : window.count < limit.max,
      limit: limit.max,
      remaining: Math.max(0, limit.max - window.count),
      resetSeconds: Math.max(1, Math.ceil((window.startedAt + limit.windowMs - now) / 1000))
    })
    // Old windows are dropped now and then so the map cannot grow without bound.
    const sweep = (now: number) => {
      if (windows.size < 10_000) return
      for (const [key, window] of windows) if (now - window.startedAt > 3_600_000) windows.delete(key)
    }
    return RateLimiter.of({
      check: (key, limit) => Effect.sync(() => state(current(key, limit, Date.now()), limit, Date.now())),
      hit: (key, limit) =>
        Effect.sync(() => {
          const now = Date.now()
          sweep(now)
          const window = current(key, limit, now)
          window.count++
          return state(window, limit, now, true)
        }),
      reset: (key) => Effect.sync(() => void windows.delete(key))
    })
  })
}
