/**
 * Records sign-ins in the audit log: a login, registration or first-run
 * setup that succeeds (`ok`) and one refused for its credentials, registration
 * token or setup link (`refused`). These routes have no session, so the Authentication
 * middleware, which records everything else, does not see them.
 */
import { HttpApiMiddleware } from "effect/http-api"

export class AuditSignIn extends HttpApiMiddleware.Service<AuditSignIn>()(
  "@botfleet/server/api/AuditSignIn"
) {}
