/** Admins of the HTTP API, their sessions and how passwords are kept. */
import { Context, type Effect, type Option, type Redacted, Schema } from "effect"

/**
 * What an admin may do: `owner` everything (admins, invitations, providers,
 * alerts, the audit log), `operator` run bots and chats (answer as a bot,
 * block, retry), `viewer` read.
 */
export const AdminRole = Schema.Literals(["owner", "operator", "viewer"])
export type AdminRole = typeof AdminRole.Type

export interface Admin {
  readonly id: string
  readonly email: string
  readonly passwordHash: string
  readonly role: AdminRole
  readonly createdAt: Date
}

export class EmailTaken extends Schema.TaggedError<EmailTaken>()("EmailTaken", { email: Schema.String }) {
  override get message() {
    return `an admin with email ${this.email} already exists`
  }
}

export class AdminNotFound extends Schema.TaggedError<AdminNotFound>()("AdminNotFound", {
  id: Schema.String
}) {
  override get message() {
    return `no admin with id ${this.id}`
  }
}

/** The change would leave no owner, and nobody could manage admins any more. */
export class LastOwner extends Schema.TaggedError<LastOwner>()("LastOwner", { id: Schema.String }) {
  override get message() {
    return "the last owner can be neither removed nor given another role; make another admin an owner first"
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
    /** Oldest first. */
    readonly list: Effect.Effect<ReadonlyArray<Admin>>
    /** Refused when it would leave no owner (checked under a lock: two demotions cannot both pass). */
    readonly changeRole: (id: string, role: AdminRole) => Effect.Effect<Admin, AdminNotFound | LastOwner>
    /** Removes the admin and, with them, their sessions; refused for the last owner. */
    readonly remove: (id: string) => Effect.Effect<void, AdminNotFound | LastOwner>
    /** Whether any admin exists at all (the first run has none). */
    readonly anyExists: Effect.Effect<boolean>
  }
>()("@botfleet/application/AdminRepository") {}

export interface Invitation {
  readonly id: string
  /** SHA-256 of the token; the token itself is shown once, to the owner who invites. */
  readonly tokenHash: string
  readonly email: string
  readonly role: AdminRole
  readonly invitedBy: string
  readonly createdAt: Date
  readonly expiresAt: Date
}

/** Unknown, used or expired: the three look the same from outside. */
export class InvitationInvalid extends Schema.TaggedError<InvitationInvalid>()("InvitationInvalid", {}) {
  override get message() {
    return "this invitation link is not valid: it may have been used or have expired; ask for a new one"
  }
}

export class InvitationRepository extends Context.Service<
  InvitationRepository,
  {
    readonly insert: (invitation: Invitation) => Effect.Effect<void>
    /**
     * In one transaction: marks the unused, unexpired invitation with this hash
     * used and creates its admin (the invitation's email and role). Nothing
     * changes when either step fails.
     */
    readonly redeem: (
      tokenHash: string,
      now: Date,
      admin: { readonly id: string; readonly passwordHash: string }
    ) => Effect.Effect<Admin, InvitationInvalid | EmailTaken>
  }
>()("@botfleet/application/InvitationRepository") {}

export interface Session {
  /** The session's public id: shown in lists and used to end it; signs nobody in. */
  readonly id: string
  /** SHA-256 of the secret in the cookie; the secret itself is never stored. */
  readonly idHash: string
  readonly adminId: string
  readonly createdAt: Date
  /** When it was last used, to within a minute (see AuthService). */
  readonly lastSeenAt: Date
  readonly expiresAt: Date
  /** The client's address and user agent at sign-in, when known. */
  readonly clientAddress: string | null
  readonly userAgent: string | null
}

export class SessionRepository extends Context.Service<
  SessionRepository,
  {
    readonly insert: (session: Session) => Effect.Effect<void>
    /** A session that has not expired at `now` (idleness is the caller's rule). */
    readonly findLive: (idHash: string, now: Date) => Effect.Effect<Option.Option<Session>>
    /** Records a use of the session. */
    readonly touch: (idHash: string, seenAt: Date) => Effect.Effect<void>
    readonly delete: (idHash: string) => Effect.Effect<void>
    /** The admin's sessions that are neither expired at `now` nor unused since `idleSince`, newest first. */
    readonly listLive: (adminId: string, now: Date, idleSince: Date) => Effect.Effect<ReadonlyArray<Session>>
    /** Deletes the session with this public id if it is the admin's; whether one was deleted. */
    readonly deleteOwned: (adminId: string, id: string) => Effect.Effect<boolean>
    /** Deletes every session of the admin but the one with `keepIdHash`; how many were deleted. */
    readonly deleteOthers: (adminId: string, keepIdHash: string) => Effect.Effect<number>
    /** Deletes sessions expired at `now` or unused since `idleSince`; how many were deleted. */
    readonly deleteExpired: (now: Date, idleSince: Date) => Effect.Effect<number>
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
