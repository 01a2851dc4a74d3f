/**
 * Log in, register, log out, me. Login is limited per IP and per email and
 * only ever says "invalid credentials"; the session goes in an HttpOnly,
 * SameSite cookie (Secure when PUBLIC_URL is https).
 */
import { AuthService } from "@botfleet/application"
import { Effect, Option, Redacted } from "effect"
import { HttpEffect, HttpServerRequest, HttpServerResponse } from "effect/http"
import { HttpApiBuilder } from "effect/http-api"
import { AppConfig } from "../../config/AppConfig.ts"
import { Api } from "../Api.ts"
import { Conflict, error, Forbidden, TooManyRequests, Unauthorized } from "../ApiErrors.ts"
import { CurrentAdmin, SESSION_COOKIE, sessionCookie } from "../Authentication.ts"
import { type Limit, RateLimiter, type RateState } from "../RateLimiter.ts"
import { createdAt } from "../responseHeaders.ts"

/** Failed logins allowed per window. */
export const LOGIN_LIMIT_PER_EMAIL: Limit = { max: 5, windowMs: 15 * 60_000 }
export const LOGIN_LIMIT_PER_IP: Limit = { max: 20, windowMs: 15 * 60_000 }

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
    const config = yield* AppConfig
    const secure = Option.exists(config.publicUrl, (url) => url.protocol === "https:")
    // A dashboard on another origin (CORS_ORIGINS) needs the cookie cross-site, which browsers allow only with Secure.
    const sameSite = secure && config.corsOrigins.length > 0 ? "none" : "lax"
    const cookieOptions = { secure, httpOnly: true, sameSite, path: "/" } as const

    return handlers
      .handle(
        "login",
        Effect.fn(function* ({ payload }) {
          const request = yield* HttpServerRequest.HttpServerRequest
          const ip = Option.getOrElse(request.remoteAddress, () => "unknown")
          const emailKey = `login:email:${payload.email.toLowerCase()}`
          const ipKey = `login:ip:${ip}`
          // Counted before the password is checked, so parallel guesses cannot slip past the limit.
          const byEmail = yield* limiter.hit(emailKey, LOGIN_LIMIT_PER_EMAIL)
          const byIp = yield* limiter.hit(ipKey, LOGIN_LIMIT_PER_IP)
          const blocked = !byEmail.allowed ? byEmail : !byIp.allowed ? byIp : undefined
          if (blocked) {
            yield* rateHeaders(blocked)
            return yield* new TooManyRequests(
              error("too_many_requests", `too many failed logins; try again in ${blocked.resetSeconds} s`)
            )
          }
          const result = yield* auth.login(payload.email, Redacted.make(payload.password)).pipe(Effect.option)
          if (Option.isNone(result)) {
            yield* rateHeaders(byEmail.remaining <= byIp.remaining ? byEmail : byIp)
            return yield* new Unauthorized(error("invalid_credentials", "invalid credentials"))
          }
          yield* limiter.reset(emailKey)
          yield* rateHeaders(yield* limiter.check(emailKey, LOGIN_LIMIT_PER_EMAIL))
          const { admin, session, expiresAt } = result.value
          yield* HttpApiBuilder.securitySetCookie(sessionCookie, session, {
            ...cookieOptions,
            expires: expiresAt
          })
          return toAdminView(admin)
        })
      )
      .handle(
        "register",
        Effect.fn(function* ({ payload }) {
          const password = Redacted.make(payload.password)
          const admin = yield* auth
            .register(payload.email, password, Redacted.make(payload.registrationToken))
            .pipe(
              Effect.catchTags({
                RegistrationRefused: (e) =>
                  Effect.fail(new Forbidden(error("registration_refused", e.reason))),
                EmailTaken: (e) => Effect.fail(new Conflict(error("email_taken", e.message)))
              })
            )
          // The new admin is signed in, so `Location` (their own account) is readable at once.
          const signedIn = yield* auth.login(payload.email, password).pipe(Effect.orDie)
          yield* HttpApiBuilder.securitySetCookie(sessionCookie, signedIn.session, {
            ...cookieOptions,
            expires: signedIn.expiresAt
          })
          yield* createdAt("/api/auth/me")
          return toAdminView(admin)
        })
      )
      .handle(
        "logout",
        Effect.fn(function* () {
          const request = yield* HttpServerRequest.HttpServerRequest
          const session = request.cookies[SESSION_COOKIE]
          if (session !== undefined) yield* auth.logout(Redacted.make(session))
          yield* HttpEffect.appendPreResponseHandler((_request, response) =>
            Effect.orDie(HttpServerResponse.expireCookie(response, SESSION_COOKIE, cookieOptions))
          )
        })
      )
      .handle("me", () => Effect.map(CurrentAdmin, toAdminView))
  })
)
