/**
 * Login lockout with growing back-off. Each login attempt is claimed against
 * its keys before the password is checked (so guesses sent at once are all
 * counted); a key with `threshold` failures is locked out for `baseMs`, and
 * each further failure after a lockout doubles it, up to `capMs`. Failures are
 * forgotten `forgetMs` after the last one. The login handler keys it by
 * (email, client address) and by client address alone, never by email alone:
 * a stranger's guesses must not lock the owner out from their own address.
 */
import { Context, type Effect } from "effect"
import type { RateState } from "./RateLimiter.ts"

export interface LockoutPolicy {
  /** Failures that start a lockout. */
  readonly threshold: number
  /** The first lockout; each further failure doubles it. */
  readonly baseMs: number
  readonly capMs: number
  /** Failures older than this (after the last one) no longer count. */
  readonly forgetMs: number
}

export const LOGIN_LOCKOUT_PER_EMAIL_AND_ADDRESS: LockoutPolicy = {
  threshold: 5,
  baseMs: 60_000,
  capMs: 60 * 60_000,
  forgetMs: 24 * 60 * 60_000
}

export const LOGIN_LOCKOUT_PER_ADDRESS: LockoutPolicy = {
  threshold: 20,
  baseMs: 60_000,
  capMs: 60 * 60_000,
  forgetMs: 60 * 60_000
}

/** The lockout after `failures` failures: none below the threshold, then base, 2×base, 4×base..., capped. */
export const lockoutMs = (policy: LockoutPolicy, failures: number): number =>
  failures < policy.threshold
    ? 0
    : Math.min(policy.capMs, policy.baseMs * 2 ** Math.min(30, failures - policy.threshold))

export class LoginLockout extends Context.Service<
  LoginLockout,
  {
    /**
     * Counts one attempt against `key` unless it is locked out. `allowed: false`
     * (nothing counted) while locked, with `resetSeconds` until the lockout ends;
     * `remaining` is how many more failures start one.
     */
    readonly attempt: (key: string, policy: LockoutPolicy) => Effect.Effect<RateState>
    /** The attempt succeeded: forget every failure of `key`. */
    readonly clear: (key: string) => Effect.Effect<void>
    /** The attempt succeeded: take back the one attempt it counted (and its lockout, if it made one). */
    readonly forgive: (key: string, policy: LockoutPolicy) => Effect.Effect<void>
  }
>()("@botfleet/server/LoginLockout") {}
