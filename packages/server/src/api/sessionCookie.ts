/**
 * The admin session cookie: its name, its attributes, and reading it back.
 *
 * It is Secure when COOKIE_SECURE says `true`, or, with `auto`, when PUBLIC_URL
 * is https or a TRUST_PROXY proxy says the sign-in came over https. A Secure
 * cookie is named `__Host-botfleet_session`: browsers take that name only with
 * Secure, `Path=/` and no Domain, so neither a sibling subdomain nor a plain
 * http page can plant or overwrite it. Otherwise it is `botfleet_session`.
 * Only one is ever set; readers accept both.
 */
import { Effect, Option, Redacted } from "effect"
import { HttpEffect, HttpServerRequest, HttpServerResponse } from "effect/http"
import type { AppConfigShape } from "../config/AppConfig.ts"
import { cameOverHttps, type TrustedProxies } from "../http/clientAddress.ts"
import { SECURE_SESSION_COOKIE, SESSION_COOKIE } from "./Authentication.ts"

export const sessionCookieName = (secure: boolean) => (secure ? SECURE_SESSION_COOKIE : SESSION_COOKIE)

/** The session the request carries; the `__Host-` one first, as the Authentication middleware tries it. */
export const sessionCookieOf = (request: HttpServerRequest.HttpServerRequest): string | undefined =>
  request.cookies[SECURE_SESSION_COOKIE] ?? request.cookies[SESSION_COOKIE]

/** Every session cookie the request carries, the `__Host-` one first (two only after COOKIE_SECURE changed). */
export const sessionCookiesOf = (request: HttpServerRequest.HttpServerRequest) =>
  [SECURE_SESSION_COOKIE, SESSION_COOKIE].flatMap((name) => {
    const value = request.cookies[name]
    return value === undefined ? [] : [{ name, value }]
  })

export interface SessionCookies {
  /** Whether a session cookie set in answer to this request is Secure. */
  readonly isSecure: (request: HttpServerRequest.HttpServerRequest) => boolean
  /** Sets the session cookie on the response (and clears one of the other name the browser still has). */
  readonly set: (
    session: Redacted.Redacted<string>,
    expires: Date
  ) => Effect.Effect<void, never, HttpServerRequest.HttpServerRequest>
  /** The sessions the request carries, and a response handler that clears their cookies. */
  readonly clear: Effect.Effect<
    ReadonlyArray<Redacted.Redacted<string>>,
    never,
    HttpServerRequest.HttpServerRequest
  >
}

export const sessionCookies = (config: AppConfigShape, proxies: TrustedProxies): SessionCookies => {
  const httpsPublicUrl = Option.exists(config.publicUrl, (url) => url.protocol === "https:")
  const isSecure = (request: HttpServerRequest.HttpServerRequest) =>
    config.cookieSecure === "true" ||
    (config.cookieSecure === "auto" && (httpsPublicUrl || cameOverHttps(request, proxies)))
  const optionsFor = (name: string) => {
    const secure = name === SECURE_SESSION_COOKIE
    // A dashboard on another origin (CORS_ORIGINS) needs the cookie cross-site, which browsers allow only with Secure.
    const sameSite = secure && config.corsOrigins.length > 0 ? "none" : "lax"
    return { secure, httpOnly: true, sameSite, path: "/" } as const
  }
  const expireAll = (names: ReadonlyArray<string>) =>
    names.length === 0
      ? Effect.void
      : HttpEffect.appendPreResponseHandler((_request, response) =>
          Effect.orDie(
            Effect.reduce(
              names,
              () => response,
              (current, name) => HttpServerResponse.expireCookie(current, name, optionsFor(name))
            )
          )
        )

  return {
    isSecure,
    set: (session, expires) =>
      Effect.gen(function* () {
        const request = yield* HttpServerRequest.HttpServerRequest
        const name = sessionCookieName(isSecure(request))
        const stale = sessionCookiesOf(request).filter((cookie) => cookie.name !== name)
        yield* expireAll(stale.map((cookie) => cookie.name))
        yield* HttpEffect.appendPreResponseHandler((_request, response) =>
          Effect.orDie(
            HttpServerResponse.setCookie(response, name, Redacted.value(session), {
              ...optionsFor(name),
              expires
            })
          )
        )
      }),
    clear: Effect.gen(function* () {
      const carried = sessionCookiesOf(yield* HttpServerRequest.HttpServerRequest)
      yield* expireAll(carried.map((cookie) => cookie.name))
      return carried.map((cookie) => Redacted.make(cookie.value))
    })
  }
}
