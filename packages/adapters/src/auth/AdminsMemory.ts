/** In-memory admins and sessions, with the same uniqueness and expiry rules. */
import {
  type Admin,
  AdminRepository,
  EmailTaken,
  type Session,
  SessionRepository
} from "@botfleet/application"
import { Effect, Layer, Option } from "effect"

export const layerMemory: Layer.Layer<AdminRepository | SessionRepository> = Layer.mergeAll(
  Layer.sync(AdminRepository, () => {
    const admins = new Map<string, Admin>()
    const byEmail = (email: string) =>
      Option.fromUndefinedOr(
        [...admins.values()].find((admin) => admin.email.toLowerCase() === email.toLowerCase())
      )
    return AdminRepository.of({
      insert: (admin) =>
        Option.isSome(byEmail(admin.email))
          ? Effect.fail(new EmailTaken({ email: admin.email }))
          : Effect.sync(() => void admins.set(admin.id, admin)),
      findByEmail: (email) => Effect.sync(() => byEmail(email)),
      findById: (id) => Effect.sync(() => Option.fromUndefinedOr(admins.get(id))),
      setPasswordHash: (id, passwordHash) =>
        Effect.sync(() => {
          const admin = admins.get(id)
          if (admin !== undefined) admins.set(id, { ...admin, passwordHash })
        }),
      anyExists: Effect.sync(() => admins.size > 0)
    })
  }),
  Layer.sync(SessionRepository, () => {
    const sessions = new Map<string, Session>()
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
    return SessionRepository.of({
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
  })
)
