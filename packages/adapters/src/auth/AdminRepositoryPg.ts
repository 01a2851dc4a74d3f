import {
  type Admin,
  AdminNotFound,
  AdminRepository,
  type AdminRole,
  EmailTaken,
  LastOwner,
  type Session,
  SessionRepository
} from "@botfleet/application"
import { Effect, Layer, Option } from "effect"
import { SqlClient } from "effect/sql"
import { isUniqueViolation } from "../postgres/sqlErrors.ts"

interface AdminRow {
  readonly id: string
  readonly email: string
  readonly password_hash: string
  readonly role: AdminRole
  readonly created_at: Date
}

export const toAdmin = (row: AdminRow): Admin => ({
  id: row.id,
  email: row.email,
  passwordHash: row.password_hash,
  role: row.role,
  createdAt: row.created_at
})

export const layer: Layer.Layer<AdminRepository, never, SqlClient.SqlClient> = Layer.effect(
  AdminRepository,
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    /**
     * Runs `change` with every owner row locked, unless it would take the role
     * of the last owner away: two owners demoting each other at once wait for
     * each other, and the second is refused.
     */
    const keepingAnOwner = <A>(
      id: string,
      leavesOwner: (target: AdminRow) => boolean,
      change: Effect.Effect<A, never>
    ) =>
      sql
        .withTransaction(
          Effect.gen(function* () {
            const owners = yield* sql<{ id: string }>`SELECT id FROM admins WHERE role = 'owner' FOR UPDATE`
            const [target] = yield* sql<AdminRow>`SELECT * FROM admins WHERE id = ${id} FOR UPDATE`
            if (target === undefined) return yield* new AdminNotFound({ id })
            if (target.role === "owner" && owners.length <= 1 && !leavesOwner(target)) {
              return yield* new LastOwner({ id })
            }
            return yield* change
          })
        )
        .pipe(Effect.catchTag("SqlError", Effect.die))

    return AdminRepository.of({
      insert: (admin) =>
        sql`
          INSERT INTO admins (id, email, password_hash, role, created_at)
          VALUES (${admin.id}, ${admin.email}, ${admin.passwordHash}, ${admin.role}, ${admin.createdAt})`.pipe(
          Effect.asVoid,
          Effect.catchTag("SqlError", (error) =>
            isUniqueViolation(error) ? Effect.fail(new EmailTaken({ email: admin.email })) : Effect.die(error)
          ),
          Effect.withSpan("AdminRepository.insert")
        ),
      findByEmail: (email) =>
        sql<AdminRow>`SELECT * FROM admins WHERE lower(email) = lower(${email})`.pipe(
          Effect.map((rows) => Option.map(Option.fromUndefinedOr(rows[0]), toAdmin)),
          Effect.orDie,
          Effect.withSpan("AdminRepository.findByEmail")
        ),
      findById: (id) =>
        sql<AdminRow>`SELECT * FROM admins WHERE id = ${id}`.pipe(
          Effect.map((rows) => Option.map(Option.fromUndefinedOr(rows[0]), toAdmin)),
          Effect.orDie,
          Effect.withSpan("AdminRepository.findById")
        ),
      setPasswordHash: (id, passwordHash) =>
        sql`UPDATE admins SET password_hash = ${passwordHash} WHERE id = ${id}`.pipe(
          Effect.asVoid,
          Effect.orDie,
          Effect.withSpan("AdminRepository.setPasswordHash")
        ),
      list: sql<AdminRow>`SELECT * FROM admins ORDER BY created_at, id`.pipe(
        Effect.map((rows) => rows.map(toAdmin)),
        Effect.orDie,
        Effect.withSpan("AdminRepository.list")
      ),
      changeRole: (id, role) =>
        keepingAnOwner(
          id,
          () => role === "owner",
          sql<AdminRow>`UPDATE admins SET role = ${role} WHERE id = ${id} RETURNING *`.pipe(
            Effect.map((rows) => toAdmin(rows[0] as AdminRow)),
            Effect.orDie
          )
        ).pipe(Effect.withSpan("AdminRepository.changeRole")),
      // admin_sessions rows go with the admin (ON DELETE CASCADE): removed means signed out.
      remove: (id) =>
        keepingAnOwner(
          id,
          () => false,
          sql`DELETE FROM admins WHERE id = ${id}`.pipe(Effect.asVoid, Effect.orDie)
        ).pipe(Effect.withSpan("AdminRepository.remove")),
      anyExists: sql<{ exists: boolean }>`SELECT EXISTS (SELECT 1 FROM admins) AS exists`.pipe(
        Effect.map((rows) => rows[0]?.exists === true),
        Effect.orDie,
        Effect.withSpan("AdminRepository.anyExists")
      )
    })
  })
)

interface SessionRow {
  readonly id_hash: string
  readonly admin_id: string
  readonly expires_at: Date
}

export const sessionsLayer: Layer.Layer<SessionRepository, never, SqlClient.SqlClient> = Layer.effect(
  SessionRepository,
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    return SessionRepository.of({
      insert: (session: Session) =>
        sql`
          INSERT INTO admin_sessions (id_hash, admin_id, expires_at)
          VALUES (${session.idHash}, ${session.adminId}, ${session.expiresAt})`.pipe(
          Effect.asVoid,
          Effect.orDie,
          Effect.withSpan("SessionRepository.insert")
        ),
      findLive: (idHash, now) =>
        sql<SessionRow>`SELECT * FROM admin_sessions WHERE id_hash = ${idHash} AND expires_at > ${now}`.pipe(
          Effect.map((rows) =>
            Option.map(Option.fromUndefinedOr(rows[0]), (row) => ({
              idHash: row.id_hash,
              adminId: row.admin_id,
              expiresAt: row.expires_at
            }))
          ),
          Effect.orDie,
          Effect.withSpan("SessionRepository.findLive")
        ),
      delete: (idHash) =>
        sql`DELETE FROM admin_sessions WHERE id_hash = ${idHash}`.pipe(
          Effect.asVoid,
          Effect.orDie,
          Effect.withSpan("SessionRepository.delete")
        ),
      deleteExpired: (now) =>
        sql<{
          id_hash: string
        }>`DELETE FROM admin_sessions WHERE expires_at <= ${now} RETURNING id_hash`.pipe(
          Effect.map((rows) => rows.length),
          Effect.orDie,
          Effect.withSpan("SessionRepository.deleteExpired")
        )
    })
  })
)
