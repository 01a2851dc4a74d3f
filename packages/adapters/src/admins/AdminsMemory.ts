/** In-memory admins, invitations and sessions, with the same uniqueness, expiry and last-owner rules. */
import {
  type Admin,
  AdminNotFound,
  AdminRepository,
  EmailTaken,
  type Invitation,
  InvitationInvalid,
  InvitationRepository,
  LastOwner,
  type Session,
  SessionRepository
} from "@botfleet/application"
import { Context, Effect, Layer, Option } from "effect"

export const layerMemory: Layer.Layer<AdminRepository | InvitationRepository | SessionRepository> =
  Layer.effectContext(
    Effect.sync(() => {
      const admins = new Map<string, Admin>()
      const sessions = new Map<string, Session>()
      const invitations = new Map<string, Invitation & { usedAt: Date | null }>()
      const byEmail = (email: string) =>
        Option.fromUndefinedOr(
          [...admins.values()].find((admin) => admin.email.toLowerCase() === email.toLowerCase())
        )
      const owners = () => [...admins.values()].filter((admin) => admin.role === "owner").length
      const endSessionsOf = (adminId: string) => {
        for (const [key, session] of sessions) if (session.adminId === adminId) sessions.delete(key)
      }
      const insert = (admin: Admin) =>
        Option.isSome(byEmail(admin.email))
          ? Effect.fail(new EmailTaken({ email: admin.email }))
          : Effect.sync(() => void admins.set(admin.id, admin))

      const adminRepository = AdminRepository.of({
        insert,
        findByEmail: (email) => Effect.sync(() => byEmail(email)),
        findById: (id) => Effect.sync(() => Option.fromUndefinedOr(admins.get(id))),
        setPasswordHash: (id, passwordHash) =>
          Effect.sync(() => {
            const admin = admins.get(id)
            if (admin !== undefined) admins.set(id, { ...admin, passwordHash })
          }),
        list: Effect.sync(() =>
          [...admins.values()].sort(
            (a, b) => a.createdAt.getTime() - b.createdAt.getTime() || a.id.localeCompare(b.id)
          )
        ),
        anyExists: Effect.sync(() => admins.size > 0),
        changeRole: (id, role) =>
          Effect.gen(function* () {
            const admin = admins.get(id)
            if (admin === undefined) return yield* new AdminNotFound({ id })
            if (admin.role === "owner" && role !== "owner" && owners() <= 1) {
              return yield* new LastOwner({ id })
            }
            const changed = { ...admin, role }
            admins.set(id, changed)
            return changed
          }),
        remove: (id) =>
          Effect.gen(function* () {
            const admin = admins.get(id)
            if (admin === undefined) return yield* new AdminNotFound({ id })
            if (admin.role === "owner" && owners() <= 1) return yield* new LastOwner({ id })
            admins.delete(id)
            endSessionsOf(id)
          })
      })

      const invitationRepository = InvitationRepository.of({
        insert: (invitation) =>
          Effect.sync(() => void invitations.set(invitation.tokenHash, { ...invitation, usedAt: null })),
        redeem: (tokenHash, now, created) =>
          Effect.gen(function* () {
            const invitation = invitations.get(tokenHash)
            if (invitation === undefined || invitation.usedAt !== null || invitation.expiresAt <= now) {
              return yield* new InvitationInvalid()
            }
            const admin: Admin = {
              id: created.id,
              email: invitation.email,
              passwordHash: created.passwordHash,
              role: invitation.role,
              createdAt: now
            }
            yield* insert(admin)
            invitations.set(tokenHash, { ...invitation, usedAt: now })
            return admin
          })
      })

      const removeWhere = (doomed: (session: Session) => boolean) => {
        let removed = 0
        for (const [key, session] of sessions) {
          if (doomed(session)) {
            sessions.delete(key)
            removed++
          }
        }
        return removed
      }
      const sessionRepository = SessionRepository.of({
        insert: (session) => Effect.sync(() => void sessions.set(session.idHash, session)),
        findLive: (idHash, now) =>
          Effect.sync(() =>
            Option.filter(Option.fromUndefinedOr(sessions.get(idHash)), (s) => s.expiresAt > now)
          ),
        touch: (idHash, seenAt) =>
          Effect.sync(() => {
            const session = sessions.get(idHash)
            if (session !== undefined) sessions.set(idHash, { ...session, lastSeenAt: seenAt })
          }),
        delete: (idHash) => Effect.sync(() => void sessions.delete(idHash)),
        listLive: (adminId, now, idleSince) =>
          Effect.sync(() =>
            [...sessions.values()]
              .filter((s) => s.adminId === adminId && s.expiresAt > now && s.lastSeenAt > idleSince)
              .sort(
                (a, b) =>
                  b.createdAt.getTime() - a.createdAt.getTime() || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)
              )
          ),
        deleteOwned: (adminId, id) =>
          Effect.sync(() => removeWhere((s) => s.id === id && s.adminId === adminId) > 0),
        deleteOthers: (adminId, keepIdHash) =>
          Effect.sync(() => removeWhere((s) => s.adminId === adminId && s.idHash !== keepIdHash)),
        deleteExpired: (now, idleSince) =>
          Effect.sync(() => removeWhere((s) => s.expiresAt <= now || s.lastSeenAt <= idleSince))
      })

      return Context.make(AdminRepository, adminRepository)
        .pipe(Context.add(InvitationRepository, invitationRepository))
        .pipe(Context.add(SessionRepository, sessionRepository))
    })
  )
