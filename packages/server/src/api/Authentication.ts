/** The session check every admin route but login and register goes through. */
import { Context } from "effect"
import { HttpApiMiddleware, HttpApiSecurity } from "effect/http-api"
import { Unauthorized } from "./ApiErrors.ts"

/** The session cookie's name over plain http (see sessionCookie.ts for when each is set). */
export const SESSION_COOKIE = "botfleet_session"
/** Its name when Secure: browsers accept a `__Host-` cookie only with Secure, Path=/ and no Domain. */
export const SECURE_SESSION_COOKIE = "__Host-botfleet_session"

export interface Admin {
  readonly id: string
  readonly email: string
  readonly createdAt: Date
}

export class CurrentAdmin extends Context.Service<CurrentAdmin, Admin>()(
  "@botfleet/server/api/CurrentAdmin"
) {}

export const secureSessionCookie = HttpApiSecurity.apiKey({ key: SECURE_SESSION_COOKIE, in: "cookie" })
export const sessionCookie = HttpApiSecurity.apiKey({ key: SESSION_COOKIE, in: "cookie" })

export class Authentication extends HttpApiMiddleware.Service<
  Authentication,
  { provides: CurrentAdmin; requires: never }
>()("@botfleet/server/api/Authentication", {
  // Either name is accepted (only one is ever set); the Secure one is tried first.
  security: { secureSession: secureSessionCookie, session: sessionCookie },
  error: Unauthorized
}) {}
