/**
 * The signed-in admin's own account: change the password (proving the current
 * one, limited per admin like a login, ending every other session) and list
 * or end their own sessions. Another admin's session is never found here.
 */
import { AuthService } from "@botfleet/application"
import { Effect, Option, Redacted } from "effect"
import { HttpServerRequest } from "effect/http"
import { HttpApiBuilder } from "effect/http-api"
import { Api } from "../Api.ts"
import { answerErrors, error, Forbidden, TooManyRequests } from "../ApiErrors.ts"
import { CurrentAdmin } from "../Authentication.ts"
import { type Limit, RateLimiter } from "../RateLimiter.ts"
import { addResponseHeaders } from "../responseHeaders.ts"
import { sessionCookiesOf } from "../sessionCookie.ts"

/** Wrong current passwords allowed per admin and window: a stolen session cannot guess the password fast. */
export const PASSWORD_CHANGE_LIMIT: Limit = { max: 5, windowMs: 15 * 60_000 }

export const AccountHandlers = HttpApiBuilder.group(
  Api,
  "account",
  Effect.fn(function* (handlers) {
    const auth = yield* AuthService
    const limiter = yield* RateLimiter

    /**
     * The session this request came with: the cookie the middleware accepted for this admin.
     * Usually the only one; with both names present (after COOKIE_SECURE changed) the one
     * that is live and theirs, so "current" and "keep this one" never name a dead or foreign one.
     */
    const currentSession = Effect.gen(function* () {
      const admin = yield* CurrentAdmin
      const request = yield* HttpServerRequest.HttpServerRequest
      const carried = sessionCookiesOf(request).map((cookie) => Redacted.make(cookie.value))
      if (carried.length === 1) return carried[0]!
      for (const session of carried) {
        const owner = yield* auth.authenticate(session).pipe(Effect.option)
        if (Option.exists(owner, (found) => found.id === admin.id)) return session
      }
      return Redacted.make("")
    })

    return handlers
      .handle(
        "changePassword",
        Effect.fn(function* ({ payload }) {
          const admin = yield* CurrentAdmin
          const key = `password:admin:${admin.id}`
          // Counted before the password is checked, so parallel guesses cannot slip past the limit.
          const attempt = yield* limiter.hit(key, PASSWORD_CHANGE_LIMIT)
          if (!attempt.allowed) {
            yield* addResponseHeaders({ "retry-after": String(attempt.resetSeconds) })
            return yield* new TooManyRequests(
              error("too_many_requests", `too many wrong passwords; try again in ${attempt.resetSeconds} s`)
            )
          }
          const ended = yield* auth
            .changePassword(
              admin.id,
              yield* currentSession,
              Redacted.make(payload.currentPassword),
              Redacted.make(payload.newPassword)
            )
            .pipe(
              Effect.catchTag("InvalidCredentials", () =>
                Effect.fail(new Forbidden(error("invalid_credentials", "the current password is wrong")))
              )
            )
          yield* limiter.reset(key)
          return { otherSessionsEnded: ended }
        })
      )
      .handle(
        "sessions",
        Effect.fn(function* () {
          const admin = yield* CurrentAdmin
          const sessions = yield* auth.sessionsOf(admin.id, yield* currentSession)
          return {
            items: sessions.map((session) => ({
              id: session.id,
              createdAt: session.createdAt.toISOString(),
              lastSeenAt: session.lastSeenAt.toISOString(),
              expiresAt: session.expiresAt.toISOString(),
              clientAddress: session.clientAddress,
              userAgent: session.userAgent,
              current: session.current
            }))
          }
        })
      )
      .handle(
        "endSession",
        Effect.fn(function* ({ params }) {
          const admin = yield* CurrentAdmin
          yield* auth.endSession(admin.id, params.id).pipe(answerErrors)
        })
      )
  })
)
