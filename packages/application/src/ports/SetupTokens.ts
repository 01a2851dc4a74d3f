/** One-time setup links for the first owner, kept as hashes. */
import { Context, type Effect, Schema } from "effect"
import type { Admin } from "./Admins.ts"

/** Why a setup link did not create the owner. */
export class SetupRefused extends Schema.TaggedError<SetupRefused>()("SetupRefused", {
  reason: Schema.Literals(["invalid_link", "already_set_up"])
}) {
  override get message() {
    return this.reason === "already_set_up"
      ? "setup is done: an admin exists, so sign in instead"
      : "the setup link is invalid or expired: a new one is printed in the server log at each start while no admin exists"
  }
}

export class SetupTokens extends Context.Service<
  SetupTokens,
  {
    /** Stores a link's hash and forgets links that expired before `now`. */
    readonly issue: (tokenHash: string, now: Date, expiresAt: Date) => Effect.Effect<void>
    /**
     * Atomically: refuses if an admin exists, consumes the token if it is
     * live at `now` (else refuses), stores `owner` and deletes every other
     * setup token, so two links used at once cannot make two owners.
     */
    readonly claim: (tokenHash: string, now: Date, owner: Admin) => Effect.Effect<void, SetupRefused>
  }
>()("@botfleet/application/SetupTokens") {}
