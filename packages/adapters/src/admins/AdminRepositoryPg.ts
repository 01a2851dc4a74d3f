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
  readonly id: string
  readonly id_hash: string
  readonly admin_id: string
  readonly created_at: Date
  readonly last_seen_at: Date
  readonly expires_at: Date
  readonly client_address: string | null
  readonly user_agent: string | null
}

const toSession = (row: SessionRow): Session => ({
  id: row.id,
  idHash: row.id_hash,
  adminId: row.admin_id,
  createdAt: row.created_at,
  lastSeenAt: row.last_seen_at,
  expiresAt: row.expires_at,
  clientAddress: row.client_address,
  userAgent: row.user_agent
})

export const sessionsLayer: Layer.Layer<SessionRepository, never, SqlClient.SqlClient> = Layer.effect(
  SessionRepository,
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    return SessionRepository.of({
      insert: (session: Session) =>
        sql`
          INSERT INTO admin_sessions
            (id, id_hash, admin_id, created_at, last_seen_at, expires_at, client_address, user_agent)
          VALUES (${session.id}, ${session.idHash}, ${session.adminId}, ${session.createdAt},
                  ${session.lastSeenAt}, ${session.expiresAt}, ${session.clientAddress}, ${session.userAgent})`.pipe(
          Effect.asVoid,
          Effect.orDie,
          Effect.withSpan("SessionRepository.insert")
        ),
      findLive: (idHash, now) =>
        sql<SessionRow>`SELECT * FROM admin_sessions WHERE id_hash = ${idHash} AND expires_at > ${now}`.pipe(
          Effect.map((rows) => Option.map(Option.fromUndefinedOr(rows[0]), toSession)),
          Effect.orDie,
          Effect.withSpan("SessionRepository.findLive")
        ),
      touch: (idHash, seenAt) =>
        sql`UPDATE admin_sessions SET last_seen_at = ${seenAt} WHERE id_hash = ${idHash}`.pipe(
          Effect.asVoid,
          Effect.orDie,
          Effect.withSpan("SessionRepository.touch")
        ),
      delete: (idHash) =>
        sql`DELETE FROM admin_sessions WHERE id_hash = ${idHash}`.pipe(
          Effect.asVoid,
          Effect.orDie,
          Effect.withSpan("SessionRepository.delete")
        ),
      listLive: (adminId, now, idleSince) =>
        sql<SessionRow>`
          SELECT * FROM admin_sessions
          WHERE admin_id = ${adminId} AND expires_at > ${now} AND last_seen_at > ${idleSince}
          ORDER BY created_at DESC, id`.pipe(
          Effect.map((rows) => rows.map(toSession)),
          Effect.orDie,
          Effect.withSpan("SessionRepository.listLive")
        ),
      deleteOwned: (adminId, id) =>
        sql<{ id: string }>`
          DELETE FROM admin_sessions WHERE id = ${id} AND admin_id = ${adminId} RETURNING id`.pipe(
          Effect.map((rows) => rows.length > 0),
          Effect.orDie,
          Effect.withSpan("SessionRepository.deleteOwned")
        ),
      deleteOthers: (adminId, keepIdHash) =>
        sql<{ id: string }>`
          DELETE FROM admin_sessions WHERE admin_id = ${adminId} AND id_hash <> ${keepIdHash}
          RETURNING id`.pipe(
          Effect.map((rows) => rows.length),
          Effect.orDie,
          Effect.withSpan("SessionRepository.deleteOthers")
        ),
      deleteExpired: (now, idleSince) =>
        sql<{ id: string }>`
          DELETE FROM admin_sessions WHERE expires_at <= ${now} OR last_seen_at <= ${idleSince}
          RETURNING id`.pipe(
          Effect.map((rows) => rows.length),
          Effect.orDie,
          Effect.withSpan("SessionRepository.deleteExpired")
        )
    })
  })
)
