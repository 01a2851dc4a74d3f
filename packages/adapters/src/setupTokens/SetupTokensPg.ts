/** Setup links on PostgreSQL: the claim is one transaction under an advisory lock, so one owner at most. */
import { SetupRefused, SetupTokens } from "@botfleet/application"
import { Effect, Layer } from "effect"
import { SqlClient } from "effect/sql"

/** Any fixed key: it only has to be the same in every process. */
const FIRST_OWNER_LOCK = 7_310_001

export const layer: Layer.Layer<SetupTokens, never, SqlClient.SqlClient> = Layer.effect(
  SetupTokens,
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient

    const claim = Effect.fn("SetupTokens.claim")(function* (
      tokenHash: string,
      now: Date,
      owner: Parameters<SetupTokens["Service"]["claim"]>[2]
    ) {
      yield* sql`SELECT pg_advisory_xact_lock(${FIRST_OWNER_LOCK})`
      const [existing] = yield* sql<{ exists: boolean }>`SELECT EXISTS (SELECT 1 FROM admins) AS exists`
      if (existing?.exists === true) return yield* new SetupRefused({ reason: "already_set_up" })
      const consumed = yield* sql`
        DELETE FROM admin_setup_tokens WHERE token_hash = ${tokenHash} AND expires_at > ${now}
        RETURNING token_hash`
      if (consumed.length === 0) return yield* new SetupRefused({ reason: "invalid_link" })
      yield* sql`
        INSERT INTO admins (id, email, password_hash, role, created_at)
        VALUES (${owner.id}, ${owner.email}, ${owner.passwordHash}, ${owner.role}, ${owner.createdAt})`
      yield* sql`DELETE FROM admin_setup_tokens`
    })

    return SetupTokens.of({
      issue: (tokenHash, now, expiresAt) =>
        sql`
          INSERT INTO admin_setup_tokens (token_hash, expires_at) VALUES (${tokenHash}, ${expiresAt})`.pipe(
          // Links of earlier starts that have expired are of no use to anyone.
          Effect.andThen(sql`DELETE FROM admin_setup_tokens WHERE expires_at <= ${now}`),
          Effect.asVoid,
          Effect.orDie,
          Effect.withSpan("SetupTokens.issue")
        ),
      claim: (tokenHash, now, owner) =>
        sql
          .withTransaction(claim(tokenHash, now, owner))
          .pipe(Effect.catchTag("SqlError", (error) => Effect.die(error)))
    })
  })
)
