/**
 * Cross-site request forgery guard for the admin API: a browser always sends
 * `Origin` on a cross-site POST, so a state-changing /api request from an
 * origin that is neither ours nor in CORS_ORIGINS is refused. Requests without
 * `Origin` (curl, scripts) are not browsers acting for someone and pass.
 */
import { Effect, Option } from "effect"
import { HttpRouter, HttpServerRequest } from "effect/http"
import type { AppConfigShape } from "../config/AppConfig.ts"
import { errorResponse } from "./errorResponse.ts"

const SAFE_METHODS = new Set(["GET", "HEAD", "OPTIONS"])

export const isAllowedOrigin = (config: AppConfigShape, origin: string, host: string | undefined): boolean =>
  config.corsOrigins.includes(origin) ||
  Option.exists(config.publicUrl, (url) => url.origin === origin) ||
  (host !== undefined && (origin === `http://${host}` || origin === `https://${host}`))

export const originCheck = (config: AppConfigShape) =>
  HttpRouter.middleware(
    (app) =>
      Effect.gen(function* () {
        const request = yield* HttpServerRequest.HttpServerRequest
        const origin = request.headers.origin
        if (SAFE_METHODS.has(request.method) || origin === undefined || !request.url.startsWith("/api/")) {
          return yield* app
        }
        if (isAllowedOrigin(config, origin, request.headers.host)) return yield* app
        return errorResponse(
          403,
          "forbidden_origin",
          `requests from ${origin} are not allowed (see CORS_ORIGINS)`
        )
      }),
    { global: true }
  )
