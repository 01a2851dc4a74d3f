/**
 * Rate limits of the admin API, counted in PostgreSQL so every process shares
 * them: each /api request counts against its session once that session is a
 * valid one, and otherwise against its client address (TRUST_PROXY decides
 * which), so a made-up cookie does not buy a fresh count. /api/stats also
 * counts against its admin. Every answer carries X-RateLimit-Limit/-Remaining
 * /-Reset (the tighter limit's); over a limit it is 429 with Retry-After.
 * Login and register keep their own limits too (AuthHandlers).
 */
import { createHash } from "node:crypto"
import type { AuthService } from "@botfleet/application"
import { Context, Effect, Option, Redacted } from "effect"
import { HttpEffect, HttpServerRequest, HttpServerResponse } from "effect/http"
import type { Limit, RateLimiter, RateState } from "../api/RateLimiter.ts"
import { RequestSession } from "../api/requestSession.ts"
import { sessionCookieOf } from "../api/sessionCookie.ts"
import { pathOf } from "./canonicalPath.ts"
import { clientAddressOf, type TrustedProxies } from "./clientAddress.ts"
import { errorResponse } from "./errorResponse.ts"

export interface ApiRateLimits {
  /** Requests per minute per session (or per address without a valid one). */
  readonly perSession: number
  /** GET /api/stats per minute per admin. */
  readonly statsPerAdmin: number
}

const minute = (max: number): Limit => ({ max, windowMs: 60_000 })

export const rateLimitHeaders = (state: RateState): Record<string, string> => ({
  "x-ratelimit-limit": String(state.limit),
  "x-ratelimit-remaining": String(state.remaining),
  "x-ratelimit-reset": String(state.resetSeconds)
})

/** The session cookie is a secret: only its hash is a key. */
const hashOf = (value: string) => createHash("sha256").update(value).digest("base64url").slice(0, 32)

export const apiRateLimit = (
  limits: ApiRateLimits,
  services: {
    readonly limiter: RateLimiter["Service"]
    readonly auth: AuthService["Service"]
    readonly proxies: TrustedProxies
  }
) => {
  const { limiter, auth, proxies } = services
  return <E, R>(
    app: Effect.Effect<HttpServerResponse.HttpServerResponse, E, R>
  ): Effect.Effect<HttpServerResponse.HttpServerResponse, E, R | HttpServerRequest.HttpServerRequest> =>
    Effect.gen(function* () {
      const request = yield* HttpServerRequest.HttpServerRequest
      const path = pathOf(request)
      if (!path.startsWith("/api/") || path === "/api/auth/login") return yield* app
      const cookie = sessionCookieOf(request)
      const admin =
        cookie === undefined ? Option.none() : yield* Effect.option(auth.authenticate(Redacted.make(cookie)))
      // The Authentication middleware takes this answer instead of looking the session up again.
      const looked = cookie === undefined ? Option.none() : Option.some({ session: cookie, admin })
      const client =
        cookie !== undefined && Option.isSome(admin)
          ? `session:${hashOf(cookie)}`
          : `ip:${clientAddressOf(request, proxies)}`
      const states = [yield* limiter.hit(`api:${client}`, minute(limits.perSession))]
      if (path === "/api/stats" && Option.isSome(admin)) {
        states.push(yield* limiter.hit(`api:stats:admin:${admin.value.id}`, minute(limits.statsPerAdmin)))
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
          { ...rateLimitHeaders(refused), "retry-after": String(refused.resetSeconds) }
        )
      }
      yield* HttpEffect.appendPreResponseHandler((_request, response) =>
        Effect.succeed(HttpServerResponse.setHeaders(response, rateLimitHeaders(shown)))
      )
      // Set in the request fiber's context as the router sets its RouteContext, not provided
      // around `app`: a provide would restore the context on the way out and drop the matched
      // route the request log reads after the router (the enclosing request restores it).
      return yield* Effect.withFiber((fiber) => {
        fiber.setContext(Context.add(fiber.context, RequestSession, looked))
        return app
      })
    })
}
