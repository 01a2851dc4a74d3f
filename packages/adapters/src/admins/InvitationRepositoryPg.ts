/** Invitations in `admin_invitations`; redeeming one creates its admin in the same transaction. */
import {
  type Admin,
  EmailTaken,
  type Invitation,
  InvitationInvalid,
  InvitationRepository
} from "@botfleet/application"
import { Effect, Layer } from "effect"
import { SqlClient } from "effect/sql"
import { isUniqueViolation } from "../postgres/sqlErrors.ts"
import { toAdmin } from "./AdminRepositoryPg.ts"

export const layer: Layer.Layer<InvitationRepository, never, SqlClient.SqlClient> = Layer.effect(
  InvitationRepository,
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    return InvitationRepository.of({
      insert: (invitation: Invitation) =>
        sql`
          INSERT INTO admin_invitations (id, token_hash, email, role, invited_by, created_at, expires_at)
          VALUES (${invitation.id}, ${invitation.tokenHash}, ${invitation.email}, ${invitation.role},
                  ${invitation.invitedBy}, ${invitation.createdAt}, ${invitation.expiresAt})`.pipe(
          Effect.asVoid,
          Effect.orDie,
          Effect.withSpan("InvitationRepository.insert")
        ),
      redeem: (tokenHash, now, admin) =>
        sql
          .withTransaction(
            Effect.gen(function* () {
              // The row lock of the UPDATE makes a second, simultaneous redeem wait, then find it used.
              const [invitation] = yield* sql<{ email: string; role: Admin["role"] }>`
                UPDATE admin_invitations SET used_at = ${now}
                WHERE token_hash = ${tokenHash} AND used_at IS NULL AND expires_at > ${now}
                RETURNING email, role`
              if (invitation === undefined) return yield* new InvitationInvalid()
              const rows = yield* sql<Parameters<typeof toAdmin>[0]>`
                INSERT INTO admins (id, email, password_hash, role, created_at)
                VALUES (${admin.id}, ${invitation.email}, ${admin.passwordHash}, ${invitation.role}, ${now})
                RETURNING *`.pipe(
                Effect.catchTag("SqlError", (error) =>
                  isUniqueViolation(error)
                    ? Effect.fail(new EmailTaken({ email: invitation.email }))
                    : Effect.die(error)
                )
              )
              return toAdmin(rows[0] as Parameters<typeof toAdmin>[0])
            })
          )
          .pipe(Effect.catchTag("SqlError", Effect.die), Effect.withSpan("InvitationRepository.redeem"))
    })
  })
)
