/**
 * The session check every admin route but login and register goes through;
 * it also enforces the role each route needs (accessRules.ts) and records
 * every change in the audit log.
 */
import type { AdminRole } from "@botfleet/application"
import { Context } from "effect"
import { HttpApiMiddleware, HttpApiSecurity } from "effect/http-api"
import { Forbidden, Unauthorized } from "./ApiErrors.ts"
import type { AuditNote } from "./auditNote.ts"

/** The session cookie's name over plain http (see sessionCookie.ts for when each is set). */
export const SESSION_COOKIE = "botfleet_session"
/** Its name when Secure: browsers accept a `__Host-` cookie only with Secure, Path=/ and no Domain. */
export const SECURE_SESSION_COOKIE = "__Host-botfleet_session"

export interface Admin {
  readonly id: string
  readonly email: string
  readonly role: AdminRole
  readonly createdAt: Date
}

export class CurrentAdmin extends Context.Service<CurrentAdmin, Admin>()(
  "@botfleet/server/api/CurrentAdmin"
) {}

export const secureSessionCookie = HttpApiSecurity.apiKey({ key: SECURE_SESSION_COOKIE, in: "cookie" })
export const sessionCookie = HttpApiSecurity.apiKey({ key: SESSION_COOKIE, in: "cookie" })

export class Authentication extends HttpApiMiddleware.Service<
  Authentication,
  { provides: CurrentAdmin | AuditNote; requires: never }
>()("@botfleet/server/api/Authentication", {
  // Either name is accepted (only one is ever set); the Secure one is tried first.
  security: { secureSession: secureSessionCookie, session: sessionCookie },
  // 403 `forbidden`: signed in, but the role does not allow this route.
  error: [Unauthorized, Forbidden]
}) {}
