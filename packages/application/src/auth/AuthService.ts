/**
 * Admin accounts and sessions. A session id is 32 random bytes handed to the
 * browser once; only its SHA-256 is stored. Wrong email and wrong password
 * look the same from outside, in answer and in time. A session ends at its
 * 7-day limit, or earlier when unused for SESSION_IDLE_MINUTES; an admin can
 * list and end their own sessions, and changing the password ends all the
 * others.
 */
import { createHash, randomBytes, randomUUID, timingSafeEqual } from "node:crypto"
import { Clock, Context, Effect, Layer, Option, Redacted, Schema } from "effect"
import {
  type Admin,
  AdminRepository,
  type EmailTaken,
  PasswordHasher,
  type Session,
  SessionRepository
} from "../ports/Admins.ts"
import { Transactions } from "../ports/Repositories.ts"
import { Settings } from "../ports/Settings.ts"

export const SESSION_TTL_MS = 7 * 24 * 60 * 60 * 1000

/**
 * A session's `last_seen_at` is written at most this often. Writing it on every
 * request would turn each API read into a row update (a WAL record and a dead
 * tuple each, and row-lock waits between the parallel requests of one console
 * page); the idle timeout counts in minutes, so a session may end up to this
 * much early and no one can tell.
 */
export const SESSION_TOUCH_EVERY_MS = 60_000

/** Longer user agents are cut: it is a hint for the admin, not evidence. */
const USER_AGENT_MAX = 512

/** Who signed in, as the HTTP layer saw them. */
export interface SignInClient {
  readonly address?: string | undefined
  readonly userAgent?: string | undefined
}

/** One of an admin's sessions as they may see it: never its secret or the secret's hash. */
export interface SessionSummary {
  readonly id: string
  readonly createdAt: Date
  readonly lastSeenAt: Date
  readonly expiresAt: Date
  readonly clientAddress: string | null
  readonly userAgent: string | null
  /** The session this request came with. */
  readonly current: boolean
}

export class SessionNotFound extends Schema.TaggedError<SessionNotFound>()("SessionNotFound", {
  id: Schema.String
}) {
  override get message() {
    return `you have no session ${this.id}`
  }
}

export class InvalidCredentials extends Schema.TaggedError<InvalidCredentials>()("InvalidCredentials", {}) {
  override get message() {
    return "invalid credentials"
  }
}

export class InvalidSession extends Schema.TaggedError<InvalidSession>()("InvalidSession", {}) {
  override get message() {
    return "no valid session: log in first"
  }
}

export class RegistrationRefused extends Schema.TaggedError<RegistrationRefused>()("RegistrationRefused", {
  reason: Schema.String
}) {
  override get message() {
    return this.reason
  }
}

const hashSessionId = (token: Redacted.Redacted<string>) =>
  createHash("sha256").update(Redacted.value(token)).digest("hex")

const sameSecret = (given: string, expected: string) => {
  const a = createHash("sha256").update(given).digest()
  const b = createHash("sha256").update(expected).digest()
  return timingSafeEqual(a, b)
}

export class AuthService extends Context.Service<
  AuthService,
  {
    readonly login: (
      email: string,
      password: Redacted.Redacted<string>,
      client?: SignInClient
    ) => Effect.Effect<
      { readonly admin: Admin; readonly session: Redacted.Redacted<string>; readonly expiresAt: Date },
      InvalidCredentials
    >
    readonly authenticate: (session: Redacted.Redacted<string>) => Effect.Effect<Admin, InvalidSession>
    readonly logout: (session: Redacted.Redacted<string>) => Effect.Effect<void>
    readonly register: (
      email: string,
      password: Redacted.Redacted<string>,
      registrationToken: Redacted.Redacted<string>
    ) => Effect.Effect<Admin, RegistrationRefused | EmailTaken>
    /** Creates the first admin from the environment if that email has no account yet. */
    readonly ensureAdmin: (email: string, password: Redacted.Redacted<string>) => Effect.Effect<void>
    /**
     * Sets a new password once the current one is proven, and ends every other
     * session of the admin (the one given stays); how many were ended.
     */
    readonly changePassword: (
      adminId: string,
      currentSession: Redacted.Redacted<string>,
      currentPassword: Redacted.Redacted<string>,
      newPassword: Redacted.Redacted<string>
    ) => Effect.Effect<number, InvalidCredentials>
    /** The admin's live sessions, newest first, `current` marking `currentSession`. */
    readonly sessionsOf: (
      adminId: string,
      currentSession: Redacted.Redacted<string>
    ) => Effect.Effect<ReadonlyArray<SessionSummary>>
    /** Ends one of the admin's own sessions by its public id; another admin's is not found. */
    readonly endSession: (adminId: string, sessionId: string) => Effect.Effect<void, SessionNotFound>
  }
>()("@botfleet/application/AuthService") {
  static readonly layer = Layer.effect(
    AuthService,
    Effect.gen(function* () {
      const admins = yield* AdminRepository
      const sessions = yield* SessionRepository
      const hasher = yield* PasswordHasher
      const settings = yield* Settings
      const transactions = yield* Transactions
      const idleMs = settings.sessionIdleMinutes * 60_000
      const now = Effect.map(Clock.currentTimeMillis, (millis) => new Date(millis))
      // Verified against when the email is unknown, so both failures take as long.
      const decoyHash = yield* hasher.hash(Redacted.make(randomBytes(16).toString("hex")))

      const create = Effect.fn("AuthService.create")(function* (
        email: string,
        password: Redacted.Redacted<string>
      ) {
        const admin: Admin = {
          id: randomUUID(),
          email: email.trim().toLowerCase(),
          passwordHash: yield* hasher.hash(password),
          // Registration and ADMIN_EMAIL make the first admins; invitations make the others.
          role: "owner",
          createdAt: yield* now
        }
        yield* admins.insert(admin)
        return admin
      })

      const login = Effect.fn("AuthService.login")(function* (
        email: string,
        password: Redacted.Redacted<string>,
        client: SignInClient = {}
      ) {
        const found = yield* admins.findByEmail(email.trim())
        const valid = yield* hasher.verify(
          password,
          Option.match(found, { onNone: () => decoyHash, onSome: (a) => a.passwordHash })
        )
        if (Option.isNone(found) || !valid) return yield* new InvalidCredentials()
        if (hasher.needsRehash(found.value.passwordHash)) {
          yield* admins.setPasswordHash(found.value.id, yield* hasher.hash(password))
          yield* Effect.logInfo("password hash upgraded to the current cost", { admin_id: found.value.id })
        }
        const session = Redacted.make(randomBytes(32).toString("base64url"))
        const signedInAt = yield* now
        const expiresAt = new Date(signedInAt.getTime() + SESSION_TTL_MS)
        const stored: Session = {
          id: randomUUID(),
          idHash: hashSessionId(session),
          adminId: found.value.id,
          createdAt: signedInAt,
          lastSeenAt: signedInAt,
          expiresAt,
          clientAddress: client.address ?? null,
          userAgent: client.userAgent?.slice(0, USER_AGENT_MAX) ?? null
        }
        yield* sessions.insert(stored)
        // Sign-ins are rare, so they sweep away sessions nobody came back to.
        yield* sessions.deleteExpired(signedInAt, new Date(signedInAt.getTime() - idleMs))
        yield* Effect.logInfo("admin logged in", { admin_id: found.value.id, session_id: stored.id })
        return { admin: found.value, session, expiresAt }
      })

      const authenticate = Effect.fn("AuthService.authenticate")(function* (
        session: Redacted.Redacted<string>
      ) {
        const idHash = hashSessionId(session)
        const at = yield* now
        const live = yield* sessions.findLive(idHash, at)
        if (Option.isNone(live)) return yield* new InvalidSession()
        const unusedMs = at.getTime() - live.value.lastSeenAt.getTime()
        if (unusedMs >= idleMs) {
          yield* sessions.delete(idHash)
          yield* Effect.logInfo("admin session ended after being idle", {
            admin_id: live.value.adminId,
            session_id: live.value.id
          })
          return yield* new InvalidSession()
        }
        if (unusedMs >= SESSION_TOUCH_EVERY_MS) yield* sessions.touch(idHash, at)
        const admin = yield* admins.findById(live.value.adminId)
        if (Option.isNone(admin)) return yield* new InvalidSession()
        return admin.value
      })

      const logout = Effect.fn("AuthService.logout")(function* (session: Redacted.Redacted<string>) {
        yield* sessions.delete(hashSessionId(session))
      })

      const register = Effect.fn("AuthService.register")(function* (
        email: string,
        password: Redacted.Redacted<string>,
        registrationToken: Redacted.Redacted<string>
      ) {
        if (Option.isNone(settings.registrationToken)) {
          return yield* new RegistrationRefused({
            reason: "registration is off (ADMIN_REGISTRATION_TOKEN is not set)"
          })
        }
        if (
          !sameSecret(Redacted.value(registrationToken), Redacted.value(settings.registrationToken.value))
        ) {
          return yield* new RegistrationRefused({ reason: "wrong registration token" })
        }
        const admin = yield* create(email, password)
        yield* Effect.logInfo("admin registered", { admin_id: admin.id })
        return admin
      })

      const ensureAdmin = Effect.fn("AuthService.ensureAdmin")(function* (
        email: string,
        password: Redacted.Redacted<string>
      ) {
        if (Option.isSome(yield* admins.findByEmail(email))) return
        yield* create(email, password).pipe(Effect.catchTag("EmailTaken", () => Effect.void))
        yield* Effect.logInfo("first admin created from ADMIN_EMAIL", { email: email.toLowerCase() })
      })

      const changePassword = Effect.fn("AuthService.changePassword")(function* (
        adminId: string,
        currentSession: Redacted.Redacted<string>,
        currentPassword: Redacted.Redacted<string>,
        newPassword: Redacted.Redacted<string>
      ) {
        const admin = yield* admins.findById(adminId)
        if (Option.isNone(admin)) return yield* new InvalidCredentials()
        if (!(yield* hasher.verify(currentPassword, admin.value.passwordHash))) {
          yield* Effect.logInfo("password change refused: wrong current password", { admin_id: adminId })
          return yield* new InvalidCredentials()
        }
        const passwordHash = yield* hasher.hash(newPassword)
        // Together: a stolen session must not outlive the password change that was meant to end it.
        const ended = yield* transactions.withTransaction(
          Effect.andThen(
            admins.setPasswordHash(adminId, passwordHash),
            sessions.deleteOthers(adminId, hashSessionId(currentSession))
          )
        )
        yield* Effect.logInfo("password changed", { admin_id: adminId, other_sessions_ended: ended })
        return ended
      })

      const sessionsOf = Effect.fn("AuthService.sessionsOf")(function* (
        adminId: string,
        currentSession: Redacted.Redacted<string>
      ) {
        const at = yield* now
        const currentHash = hashSessionId(currentSession)
        const live = yield* sessions.listLive(adminId, at, new Date(at.getTime() - idleMs))
        return live.map(
          (session): SessionSummary => ({
            id: session.id,
            createdAt: session.createdAt,
            lastSeenAt: session.lastSeenAt,
            expiresAt: session.expiresAt,
            clientAddress: session.clientAddress,
            userAgent: session.userAgent,
            current: session.idHash === currentHash
          })
        )
      })

      const endSession = Effect.fn("AuthService.endSession")(function* (adminId: string, sessionId: string) {
        if (!(yield* sessions.deleteOwned(adminId, sessionId))) {
          return yield* new SessionNotFound({ id: sessionId })
        }
        yield* Effect.logInfo("admin session ended by its admin", {
          admin_id: adminId,
          session_id: sessionId
        })
      })

      return AuthService.of({
        login,
        authenticate,
        logout,
        register,
        ensureAdmin,
        changePassword,
        sessionsOf,
        endSession
      })
    })
  )
}
