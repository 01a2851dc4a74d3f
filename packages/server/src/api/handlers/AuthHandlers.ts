/**
 * Log in, register, log out, me. Failed logins lock out an (email, client
 * address) pair and an address with a growing back-off (LoginLockout), never an
 * email from everywhere; login only ever says "invalid credentials".
 * Registration is limited per address. The session goes in an HttpOnly,
 * SameSite cookie (Secure and `__Host-` named per COOKIE_SECURE: sessionCookie.ts).
 */
import { AuthService } from "@botfleet/application"
import { Effect, Option, Redacted } from "effect"
import { HttpEffect, HttpServerRequest, HttpServerResponse } from "effect/http"
import { HttpApiBuilder } from "effect/http-api"
import { AppConfig } from "../../config/AppConfig.ts"
import { clientAddressOf, TrustProxy } from "../../http/clientAddress.ts"
import { Api } from "../Api.ts"
import { answerErrors, error, TooManyRequests, Unauthorized } from "../ApiErrors.ts"
import { CurrentAdmin } from "../Authentication.ts"
import {
  LOGIN_LOCKOUT_PER_ADDRESS,
  LOGIN_LOCKOUT_PER_EMAIL_AND_ADDRESS,
  LoginLockout
} from "../LoginLockout.ts"
import { type Limit, RateLimiter, type RateState } from "../RateLimiter.ts"
import { createdAt } from "../responseHeaders.ts"
import { sessionCookies } from "../sessionCookie.ts"

/** Registration attempts per client address, right token or not. */
export const REGISTER_LIMIT_PER_ADDRESS: Limit = { max: 5, windowMs: 15 * 60_000 }

export const toAdminView = (admin: {
  id: string
  email: string
  role: "owner" | "operator" | "viewer"
  createdAt: Date
}) => ({
  id: admin.id,
  email: admin.email,
  role: admin.role,
  createdAt: admin.createdAt.toISOString()
})

const rateHeaders = (state: RateState) =>
  HttpEffect.appendPreResponseHandler((_request, response) =>
    Effect.succeed(
      HttpServerResponse.setHeaders(response, {
        "x-ratelimit-limit": String(state.limit),
        "x-ratelimit-remaining": String(state.remaining),
        "x-ratelimit-reset": String(state.resetSeconds),
        ...(state.allowed ? {} : { "retry-after": String(state.resetSeconds) })
      })
    )
  )

export const AuthHandlers = HttpApiBuilder.group(
  Api,
  "auth",
  Effect.fn(function* (handlers) {
    const auth = yield* AuthService
    const limiter = yield* RateLimiter
    const lockout = yield* LoginLockout
    const proxies = yield* TrustProxy
    const cookies = sessionCookies(yield* AppConfig, proxies)
    /** Who signs in, kept with the session so its admin can recognise it in their list. */
    const signInClient = Effect.map(HttpServerRequest.HttpServerRequest, (request) => ({
      address: clientAddressOf(request, proxies),
      userAgent: request.headers["user-agent"]
    }))

    return handlers
      .handle(
        "login",
        Effect.fn(function* ({ payload }) {
          const request = yield* HttpServerRequest.HttpServerRequest
          const address = clientAddressOf(request, proxies)
          const pairKey = `login:${payload.email.toLowerCase()}|${address}`
          const addressKey = `login-address:${address}`
          // Claimed before the password is checked, so guesses sent at once cannot slip past a lockout.
          const byAddress = yield* lockout.attempt(addressKey, LOGIN_LOCKOUT_PER_ADDRESS)
          const byPair = byAddress.allowed
            ? yield* lockout.attempt(pairKey, LOGIN_LOCKOUT_PER_EMAIL_AND_ADDRESS)
            : undefined
          const blocked = !byAddress.allowed ? byAddress : byPair?.allowed === false ? byPair : undefined
          if (blocked || byPair === undefined) {
            const shown = blocked ?? byAddress
            yield* rateHeaders(shown)
            // The address's attempt was counted, the pair's refused: take it back, only the pair is locked.
            if (byAddress.allowed) yield* lockout.forgive(addressKey, LOGIN_LOCKOUT_PER_ADDRESS)
            return yield* new TooManyRequests(
              error("too_many_requests", `too many failed logins; try again in ${shown.resetSeconds} s`)
            )
          }
          const result = yield* auth
            .login(payload.email, Redacted.make(payload.password), yield* signInClient)
            .pipe(Effect.option)
          if (Option.isNone(result)) {
            yield* rateHeaders(byPair.remaining <= byAddress.remaining ? byPair : byAddress)
            return yield* new Unauthorized(error("invalid_credentials", "invalid credentials"))
          }
          // The right password: the pair starts afresh; the address only gets this one attempt back, so
          // signing in to an account of one's own never wipes the failures counted against other emails.
          yield* lockout.clear(pairKey)
          yield* lockout.forgive(addressKey, LOGIN_LOCKOUT_PER_ADDRESS)
          const addressAfter = { ...byAddress, remaining: byAddress.remaining + 1 }
          const pairAfter = { ...byPair, remaining: byPair.limit }
          yield* rateHeaders(pairAfter.remaining <= addressAfter.remaining ? pairAfter : addressAfter)
          const { admin, session, expiresAt } = result.value
          yield* cookies.set(session, expiresAt)
          return toAdminView(admin)
        })
      )
      .handle(
        "register",
        Effect.fn(function* ({ payload }) {
          const request = yield* HttpServerRequest.HttpServerRequest
          // Counted before the token is checked: the token is an admin credential, not to be guessed online.
          const allowance = yield* limiter.hit(
            `register:${clientAddressOf(request, proxies)}`,
            REGISTER_LIMIT_PER_ADDRESS
          )
          yield* rateHeaders(allowance)
          if (!allowance.allowed) {
            return yield* new TooManyRequests(
              error("too_many_requests", `too many registrations; try again in ${allowance.resetSeconds} s`)
            )
          }
          const password = Redacted.make(payload.password)
          const admin = yield* auth
            .register(payload.email, password, Redacted.make(payload.registrationToken))
            .pipe(answerErrors)
          // The new admin is signed in, so `Location` (their own account) is readable at once.
          const signedIn = yield* auth.login(payload.email, password, yield* signInClient).pipe(Effect.orDie)
          yield* cookies.set(signedIn.session, signedIn.expiresAt)
          yield* createdAt("/api/auth/me")
          return toAdminView(admin)
        })
      )
      .handle(
        "logout",
        Effect.fn(function* () {
          // Both names, should the browser still hold one from before COOKIE_SECURE changed.
          for (const session of yield* cookies.clear) yield* auth.logout(session)
        })
      )
      .handle("me", () => Effect.map(CurrentAdmin, toAdminView))
  })
)
