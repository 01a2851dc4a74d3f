/**
 * Admin accounts and sessions. A session id is 32 random bytes handed to the
 * browser once; only its SHA-256 is stored. Wrong email and wrong password
 * look the same from outside, in answer and in time.
 */
import { createHash, randomBytes, randomUUID, timingSafeEqual } from "node:crypto"
import { Clock, Context, Effect, Layer, Option, Redacted, Schema } from "effect"
import {
  type Admin,
  AdminRepository,
  type EmailTaken,
  PasswordHasher,
  SessionRepository
} from "../ports/Admins.ts"
import { Settings } from "../ports/Settings.ts"

export const SESSION_TTL_MS = 7 * 24 * 60 * 60 * 1000

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
      password: Redacted.Redacted<string>
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
  }
>()("@botfleet/application/AuthService") {
  static readonly layer = Layer.effect(
    AuthService,
    Effect.gen(function* () {
      const admins = yield* AdminRepository
      const sessions = yield* SessionRepository
      const hasher = yield* PasswordHasher
      const settings = yield* Settings
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
        password: Redacted.Redacted<string>
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
        const expiresAt = new Date((yield* now).getTime() + SESSION_TTL_MS)
        yield* sessions.insert({ idHash: hashSessionId(session), adminId: found.value.id, expiresAt })
        yield* Effect.logInfo("admin logged in", { admin_id: found.value.id })
        return { admin: found.value, session, expiresAt }
      })

      const authenticate = Effect.fn("AuthService.authenticate")(function* (
        session: Redacted.Redacted<string>
      ) {
        const live = yield* sessions.findLive(hashSessionId(session), yield* now)
        if (Option.isNone(live)) return yield* new InvalidSession()
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

      return AuthService.of({ login, authenticate, logout, register, ensureAdmin })
    })
  )
}
