/** The session check every admin route but login and register goes through. */
import { Context } from "effect"
import { HttpApiMiddleware, HttpApiSecurity } from "effect/http-api"
import { Unauthorized } from "./ApiErrors.ts"

export const SESSION_COOKIE = "botfleet_session"

export interface Admin {
  readonly id: string
  readonly email: string
  readonly createdAt: Date
}

export class CurrentAdmin extends Context.Service<CurrentAdmin, Admin>()(
  "@botfleet/server/api/CurrentAdmin"
) {}

export const sessionCookie = HttpApiSecurity.apiKey({ key: SESSION_COOKIE, in: "cookie" })

export class Authentication extends HttpApiMiddleware.Service<
  Authentication,
  { provides: CurrentAdmin; requires: never }
>()("@botfleet/server/api/Authentication", {
  security: { session: sessionCookie },
  error: Unauthorized
}) {}
