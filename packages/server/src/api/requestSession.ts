/**
 * A request's session, looked up once. The API rate limit (which counts per
 * session) runs before the router and the Authentication middleware after it;
 * both need to know whose session the cookie is. The rate limit looks it up
 * and leaves the answer here for the rest of the request, so a request with a
 * cookie costs one session read, not two.
 */
import { type Admin, type AuthService, InvalidSession } from "@botfleet/application"
import { Context, Effect, Option, Redacted } from "effect"

export interface SessionLookup {
  /** The cookie value that was looked up. */
  readonly session: string
  /** Its admin, or none: not a live session. */
  readonly admin: Option.Option<Admin>
}

/** Set by the rate limit for the rest of the request; none when nothing was looked up yet. */
export const RequestSession = Context.Reference<Option.Option<SessionLookup>>(
  "@botfleet/server/RequestSession",
  {
    defaultValue: () => Option.none()
  }
)

/** The admin of `session`: the answer already found for this request, or a lookup. */
export const authenticateOnce = (
  auth: AuthService["Service"],
  session: Redacted.Redacted<string>
): Effect.Effect<Admin, InvalidSession> =>
  Effect.gen(function* () {
    const known = yield* RequestSession
    if (Option.isNone(known) || known.value.session !== Redacted.value(session)) {
      return yield* auth.authenticate(session)
    }
    return yield* Option.match(known.value.admin, {
      onNone: () => Effect.fail(new InvalidSession()),
      onSome: Effect.succeed
    })
  })
