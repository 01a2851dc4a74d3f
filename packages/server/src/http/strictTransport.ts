/**
 * HTTP Strict Transport Security: once a browser has reached us over https it
 * refuses plain http to this host for a year, so a network attacker cannot
 * strip TLS off the admin's next visit (and read the session cookie). Sent
 * when PUBLIC_URL is https, or when a TRUST_PROXY proxy says the request came
 * over https. Not `includeSubDomains`: other hosts under the same domain are
 * not ours to commit to https.
 */
import { Effect, Option } from "effect"
import { HttpEffect, HttpServerRequest, HttpServerResponse } from "effect/http"
import type { AppConfigShape } from "../config/AppConfig.ts"
import { cameOverHttps, type TrustedProxies } from "./clientAddress.ts"

export const STRICT_TRANSPORT_SECURITY = "max-age=31536000"

export const strictTransport = (config: AppConfigShape, proxies: TrustedProxies) => {
  const publicHttps = Option.exists(config.publicUrl, (url) => url.protocol === "https:")
  return <E, R>(
    app: Effect.Effect<HttpServerResponse.HttpServerResponse, E, R>
  ): Effect.Effect<HttpServerResponse.HttpServerResponse, E, R | HttpServerRequest.HttpServerRequest> =>
    Effect.flatMap(HttpServerRequest.HttpServerRequest, (request) =>
      publicHttps || cameOverHttps(request, proxies)
        ? Effect.andThen(
            HttpEffect.appendPreResponseHandler((_request, response) =>
              Effect.succeed(
                HttpServerResponse.setHeader(response, "strict-transport-security", STRICT_TRANSPORT_SECURITY)
              )
            ),
            app
          )
        : app
    )
}
