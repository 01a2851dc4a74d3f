/**
 * Rate limits of the admin API (issue 12), counted in PostgreSQL so every
 * process shares them: each /api request counts against its session (or, with
 * none, its client address), /api/stats also against its admin. Every answer
 * carries X-RateLimit-Limit/-Remaining/-Reset (the tighter limit's); over a
 * limit it is 429 with Retry-After. Login keeps its own limits (AuthHandlers).
 */
import { createHash } from "node:crypto"
import { AuthService } from "@botfleet/application"
import { Effect, Option, Redacted } from "effect"
import { HttpEffect, HttpRouter, HttpServerRequest, HttpServerResponse } from "effect/http"
import { type Limit, RateLimiter, type RateState } from "../api/RateLimiter.ts"
import { sessionCookieOf } from "../api/sessionCookie.ts"
import { errorResponse } from "./errorResponse.ts"

export interface ApiRateLimits {
  /** Requests per minute per session (or per address without one). */
  readonly perSession: number
  /** GET /api/stats per minute per admin. */
  readonly statsPerAdmin: number
}

const minute = (max: number): Limit => ({ max, windowMs: 60_000 })

const headersOf = (state: RateState): Record<string, string> => ({
  "x-ratelimit-limit": String(state.limit),
  "x-ratelimit-remaining": String(state.remaining),
  "x-ratelimit-reset": String(state.resetSeconds)
})

/** The session cookie is a secret: only its hash is a key. */
const hashOf = (value: string) => createHash("sha256").update(value).digest("base64url").slice(0, 32)

export const apiRateLimit = (limits: ApiRateLimits) =>
  HttpRouter.middleware(
    Effect.gen(function* () {
      const limiter = yield* RateLimiter
      const auth = yield* AuthService
      return <E>(app: Effect.Effect<HttpServerResponse.HttpServerResponse, E>) =>
        Effect.gen(function* () {
          const request = yield* HttpServerRequest.HttpServerRequest
          const path = request.url.split("?")[0] ?? request.url
          if (!path.startsWith("/api/") || path === "/api/auth/login") return yield* app
          const session = sessionCookieOf(request)
          const client =
            session === undefined
              ? `ip:${Option.getOrElse(request.remoteAddress, () => "unknown")}`
              : `session:${hashOf(session)}`
          const states = [yield* limiter.hit(`api:${client}`, minute(limits.perSession))]
          if (path === "/api/stats" && session !== undefined) {
            const admin = yield* auth.authenticate(Redacted.make(session)).pipe(Effect.option)
            if (Option.isSome(admin))
              states.push(
                yield* limiter.hit(`api:stats:admin:${admin.value.id}`, minute(limits.statsPerAdmin))
              )
          }
          const refused = states.find((state) => !state.allowed)
          const shown = refused ?? states.reduce((a, b) => (b.remaining < a.remaining ? b : a))
          if (refused) {
            return HttpServerResponse.setHeaders(
              errorResponse(
                429,
                "too_many_requests",
                `too many requests; try again in ${refused.resetSeconds} s`
              ),
              { ...headersOf(refused), "retry-after": String(refused.resetSeconds) }
            )
          }
          yield* HttpEffect.appendPreResponseHandler((_request, response) =>
            Effect.succeed(HttpServerResponse.setHeaders(response, headersOf(shown)))
          )
          return yield* app
        })
    }),
    { global: true }
  )
