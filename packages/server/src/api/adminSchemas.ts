/** Request and response bodies of admin management, invitations and the audit log. */
import { Schema } from "effect"
import { Email, InputString, PageQuery, Uuid } from "./schemas.ts"

export const Role = Schema.Literals(["owner", "operator", "viewer"]).annotate({
  description: "owner: everything; operator: bots, chats, answering, blocking, retrying; viewer: reading"
})

export const CreateInvitation = Schema.Struct({ email: Email, role: Role })

export const InvitationIssuedView = Schema.Struct({
  id: Schema.String,
  email: Schema.String,
  role: Role,
  expiresAt: Schema.String,
  /** The only time the token is shown: it is not stored, only its hash. */
  token: Schema.String,
  /** Where the invitee sets a password: the console's page, the token in the fragment (never sent to a server). */
  path: Schema.String
})

export const AcceptInvitation = Schema.Struct({
  token: InputString.check(Schema.isMinLength(1), Schema.isMaxLength(200)),
  // As for registration: at least 12 characters.
  password: InputString.check(Schema.isMinCodePoints(12), Schema.isMaxLength(1024))
})

export const UpdateAdmin = Schema.Struct({ role: Role })

const IsoTime = Schema.String.check(
  Schema.makeFilter((text: string) => !Number.isNaN(Date.parse(text)), { expected: "an ISO 8601 time" })
)

export const AuditQuery = {
  adminId: Schema.optional(Uuid),
  action: Schema.optional(InputString.check(Schema.isMaxLength(100))),
  objectId: Schema.optional(InputString.check(Schema.isMaxLength(200))),
  /** Inclusive. */
  from: Schema.optional(IsoTime),
  /** Exclusive. */
  to: Schema.optional(IsoTime),
  ...PageQuery
}

export const AuditEntryView = Schema.Struct({
  id: Schema.Number,
  at: Schema.String,
  adminId: Schema.NullOr(Schema.String),
  adminEmail: Schema.NullOr(Schema.String),
  action: Schema.String,
  objectType: Schema.NullOr(Schema.String),
  objectId: Schema.NullOr(Schema.String),
  outcome: Schema.Literals(["ok", "refused"]),
  detail: Schema.NullOr(Schema.String),
  address: Schema.String
})
