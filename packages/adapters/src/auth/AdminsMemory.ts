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
    return SessionRepository.of({
      insert: (session) => Effect.sync(() => void sessions.set(session.idHash, session)),
      findLive: (idHash, now) =>
        Effect.sync(() =>
          Option.filter(Option.fromUndefinedOr(sessions.get(idHash)), (s) => s.expiresAt > now)
        ),
      delete: (idHash) => Effect.sync(() => void sessions.delete(idHash)),
      deleteExpired: (now) =>
        Effect.sync(() => {
          let removed = 0
          for (const [key, session] of sessions) {
            if (session.expiresAt <= now) {
              sessions.delete(key)
              removed++
            }
          }
          return removed
        })
    })
  })
)
