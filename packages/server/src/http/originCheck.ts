/**
 * Cross-site request forgery guard: a browser always sends `Origin` on a
 * cross-site POST, so any state-changing request (whatever its path) from an
 * origin that is neither ours nor an admin origin (CORS_ORIGINS) is refused
 * before it runs. Mini App origins (WEBAPP_ORIGINS) may only call
 * `/api/webapp/*`, which authenticates by bearer token, never by cookie.
 * Requests without `Origin` (curl, scripts, Telegram's webhook calls) are not
 * browsers acting for someone and pass.
 */
import { Effect, Option } from "effect"
import { HttpServerRequest, type HttpServerResponse } from "effect/http"
import type { AppConfigShape } from "../config/AppConfig.ts"
import { pathOf } from "./canonicalPath.ts"
import { errorResponse } from "./errorResponse.ts"

const SAFE_METHODS = new Set(["GET", "HEAD", "OPTIONS"])

/** Mini App routes: bearer-token only, so a Mini App origin may call them. */
export const isWebAppPath = (path: string) => path.startsWith("/api/webapp/")

/** Origins whose pages may act with an admin's session: ours and CORS_ORIGINS. */
export const isAdminOrigin = (config: AppConfigShape, origin: string, host: string | undefined): boolean =>
  config.corsOrigins.includes(origin) ||
  Option.exists(config.publicUrl, (url) => url.origin === origin) ||
  (host !== undefined && (origin === `http://${host}` || origin === `https://${host}`))

export const originCheck =
  (config: AppConfigShape) =>
  <E, R>(
    app: Effect.Effect<HttpServerResponse.HttpServerResponse, E, R>
  ): Effect.Effect<HttpServerResponse.HttpServerResponse, E, R | HttpServerRequest.HttpServerRequest> =>
    Effect.flatMap(HttpServerRequest.HttpServerRequest, (request) => {
      const origin = request.headers.origin
      if (SAFE_METHODS.has(request.method) || origin === undefined) return app
      if (isAdminOrigin(config, origin, request.headers.host)) return app
      if (config.webappOrigins.includes(origin) && isWebAppPath(pathOf(request))) return app
      return Effect.succeed(
        errorResponse(403, "forbidden_origin", `requests from ${origin} are not allowed (see CORS_ORIGINS)`)
      )
    })
