/** Admins of the HTTP API, their sessions and how passwords are kept. */
import { Context, type Effect, type Option, type Redacted, Schema } from "effect"

export interface Admin {
  readonly id: string
  readonly email: string
  readonly passwordHash: string
  readonly createdAt: Date
}

export class EmailTaken extends Schema.TaggedError<EmailTaken>()("EmailTaken", { email: Schema.String }) {
  override get message() {
    return `an admin with email ${this.email} already exists`
  }
}

export class AdminRepository extends Context.Service<
  AdminRepository,
  {
    readonly insert: (admin: Admin) => Effect.Effect<void, EmailTaken>
    /** Case-insensitive. */
    readonly findByEmail: (email: string) => Effect.Effect<Option.Option<Admin>>
    readonly findById: (id: string) => Effect.Effect<Option.Option<Admin>>
    readonly setPasswordHash: (id: string, passwordHash: string) => Effect.Effect<void>
    /** Whether any admin exists at all (the first run has none). */
    readonly anyExists: Effect.Effect<boolean>
  }
>()("@botfleet/application/AdminRepository") {}

export interface Session {
  readonly idHash: string
  readonly adminId: string
  readonly expiresAt: Date
}

export class SessionRepository extends Context.Service<
  SessionRepository,
  {
    readonly insert: (session: Session) => Effect.Effect<void>
    /** A session that has not expired at `now`. */
    readonly findLive: (idHash: string, now: Date) => Effect.Effect<Option.Option<Session>>
    readonly delete: (idHash: string) => Effect.Effect<void>
    readonly deleteExpired: (now: Date) => Effect.Effect<number>
  }
>()("@botfleet/application/SessionRepository") {}

export class PasswordHasher extends Context.Service<
  PasswordHasher,
  {
    readonly hash: (password: Redacted.Redacted<string>) => Effect.Effect<string>
    /** Constant-time comparison; false for a malformed stored hash. */
    readonly verify: (password: Redacted.Redacted<string>, stored: string) => Effect.Effect<boolean>
    /** A hash made with an older scheme or a lower cost than today's, to be replaced at the next login. */
    readonly needsRehash: (stored: string) => boolean
  }
>()("@botfleet/application/PasswordHasher") {}
