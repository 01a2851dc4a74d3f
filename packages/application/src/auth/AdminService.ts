/**
 * Managing admins: listing them, changing roles, removing them, and inviting
 * new ones with one-time links. An invitation token is 32 random bytes shown
 * once to the owner who invites; only its SHA-256 is stored, and redeeming it
 * marks it used and creates the admin in one transaction.
 */
import { createHash, randomBytes, randomUUID } from "node:crypto"
import { Clock, Context, Effect, Layer, Option, Redacted } from "effect"
import {
  type Admin,
  type AdminNotFound,
  AdminRepository,
  type AdminRole,
  EmailTaken,
  type Invitation,
  type InvitationInvalid,
  InvitationRepository,
  type LastOwner,
  PasswordHasher
} from "../ports/Admins.ts"

/** Long enough to reach someone over a weekend, short enough that a forgotten link dies. */
export const INVITATION_TTL_MS = 72 * 60 * 60 * 1000

export const hashInvitationToken = (token: Redacted.Redacted<string>) =>
  createHash("sha256").update(Redacted.value(token)).digest("hex")

export interface IssuedInvitation {
  readonly invitation: Invitation
  /** The only copy of the token: it goes into the link the owner hands over. */
  readonly token: Redacted.Redacted<string>
}

export class AdminService extends Context.Service<
  AdminService,
  {
    readonly list: Effect.Effect<ReadonlyArray<Admin>>
    readonly invite: (
      invitedBy: string,
      email: string,
      role: AdminRole
    ) => Effect.Effect<IssuedInvitation, EmailTaken>
    readonly accept: (
      token: Redacted.Redacted<string>,
      password: Redacted.Redacted<string>
    ) => Effect.Effect<Admin, InvitationInvalid | EmailTaken>
    readonly changeRole: (id: string, role: AdminRole) => Effect.Effect<Admin, AdminNotFound | LastOwner>
    readonly remove: (id: string) => Effect.Effect<void, AdminNotFound | LastOwner>
  }
>()("@botfleet/application/AdminService") {
  static readonly layer = Layer.effect(
    AdminService,
    Effect.gen(function* () {
      const admins = yield* AdminRepository
      const invitations = yield* InvitationRepository
      const hasher = yield* PasswordHasher
      const now = Effect.map(Clock.currentTimeMillis, (millis) => new Date(millis))

      const invite = Effect.fn("AdminService.invite")(function* (
        invitedBy: string,
        email: string,
        role: AdminRole
      ) {
        const normalized = email.trim().toLowerCase()
        if (Option.isSome(yield* admins.findByEmail(normalized))) {
          return yield* new EmailTaken({ email: normalized })
        }
        const token = Redacted.make(randomBytes(32).toString("base64url"))
        const createdAt = yield* now
        const invitation: Invitation = {
          id: randomUUID(),
          tokenHash: hashInvitationToken(token),
          email: normalized,
          role,
          invitedBy,
          createdAt,
          expiresAt: new Date(createdAt.getTime() + INVITATION_TTL_MS)
        }
        yield* invitations.insert(invitation)
        yield* Effect.logInfo("admin invited", { invitation_id: invitation.id, role })
        return { invitation, token }
      })

      const accept = Effect.fn("AdminService.accept")(function* (
        token: Redacted.Redacted<string>,
        password: Redacted.Redacted<string>
      ) {
        // Hashed before the invitation is looked at, so a made-up token takes as long as a real one.
        const passwordHash = yield* hasher.hash(password)
        const admin = yield* invitations.redeem(hashInvitationToken(token), yield* now, {
          id: randomUUID(),
          passwordHash
        })
        yield* Effect.logInfo("invitation accepted", { admin_id: admin.id, role: admin.role })
        return admin
      })

      const changeRole = Effect.fn("AdminService.changeRole")(function* (id: string, role: AdminRole) {
        const admin = yield* admins.changeRole(id, role)
        yield* Effect.logInfo("admin role changed", { admin_id: id, role })
        return admin
      })

      const remove = Effect.fn("AdminService.remove")(function* (id: string) {
        yield* admins.remove(id)
        yield* Effect.logInfo("admin removed", { admin_id: id })
      })

      return AdminService.of({ list: admins.list, invite, accept, changeRole, remove })
    })
  )
}
