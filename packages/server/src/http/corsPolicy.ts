/**
 * CORS in two grants. Admin origins (CORS_ORIGINS) may call the whole API with
 * the session cookie (`Access-Control-Allow-Credentials: true`). Mini App
 * origins (WEBAPP_ORIGINS) may call `/api/webapp/*` only, without credentials:
 * the Mini App signs in with initData and carries a bearer token, so its
 * origin never needs the admin's cookie. Any other origin, or a Mini App origin
 * anywhere else, gets no CORS headers at all, so the browser keeps the answer
 * (and refuses a preflight) from it.
 */
import { Effect } from "effect"
import { HttpEffect, HttpServerRequest, HttpServerResponse } from "effect/http"
import type { AppConfigShape } from "../config/AppConfig.ts"
import { pathOf } from "./canonicalPath.ts"
import { isWebAppPath } from "./originCheck.ts"

interface Grant {
  readonly credentials: boolean
  readonly methods: string
  readonly headers: string
}

const ADMIN: Grant = {
  credentials: true,
  methods: "GET, HEAD, PUT, PATCH, POST, DELETE",
  headers: "content-type, x-request-id"
}
const WEBAPP: Grant = {
  credentials: false,
  methods: "GET, HEAD, POST",
  headers: "content-type, authorization"
}

/** What a page may read of an answer besides the simple headers. */
const EXPOSED =
  "x-ratelimit-limit, x-ratelimit-remaining, x-ratelimit-reset, retry-after, x-request-id, location"

/** Preflights are cached by the browser this long (seconds). */
const PREFLIGHT_MAX_AGE = "600"

const grantFor = (config: AppConfigShape, origin: string, path: string): Grant | undefined => {
  if (isWebAppPath(path) && config.webappOrigins.includes(origin)) return WEBAPP
  if (config.corsOrigins.includes(origin)) return ADMIN
  return undefined
}

const withVaryOrigin = (response: HttpServerResponse.HttpServerResponse) => {
  const vary = response.headers.vary
  if (vary !== undefined && /(^|,)\s*origin\s*(,|$)/i.test(vary)) return response
  return HttpServerResponse.setHeader(response, "vary", vary === undefined ? "Origin" : `${vary}, Origin`)
}

const allowHeaders = (grant: Grant, origin: string): Record<string, string> => ({
  "access-control-allow-origin": origin,
  ...(grant.credentials ? { "access-control-allow-credentials": "true" } : {})
})

export const corsPolicy = (config: AppConfigShape) => {
  const enabled = config.corsOrigins.length > 0 || config.webappOrigins.length > 0
  return <E, R>(
    app: Effect.Effect<HttpServerResponse.HttpServerResponse, E, R>
  ): Effect.Effect<HttpServerResponse.HttpServerResponse, E, R | HttpServerRequest.HttpServerRequest> =>
    Effect.flatMap(HttpServerRequest.HttpServerRequest, (request) => {
      const origin = request.headers.origin
      if (!enabled || origin === undefined) return app
      const grant = grantFor(config, origin, pathOf(request))
      const isPreflight =
        request.method === "OPTIONS" && request.headers["access-control-request-method"] !== undefined
      if (grant !== undefined && isPreflight) {
        return Effect.succeed(
          withVaryOrigin(
            HttpServerResponse.empty({
              status: 204,
              headers: {
                ...allowHeaders(grant, origin),
                "access-control-allow-methods": grant.methods,
                "access-control-allow-headers": grant.headers,
                "access-control-max-age": PREFLIGHT_MAX_AGE
              }
            })
          )
        )
      }
      return Effect.andThen(
        HttpEffect.appendPreResponseHandler((_request, response) =>
          Effect.succeed(
            withVaryOrigin(
              grant === undefined
                ? response
                : HttpServerResponse.setHeaders(response, {
                    ...allowHeaders(grant, origin),
                    "access-control-expose-headers": EXPOSED
                  })
            )
          )
        ),
        app
      )
    })
}
