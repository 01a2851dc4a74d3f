/** Bodies of the account routes: change my password, my sessions. */
import { Schema } from "effect"
import { InputString, IsoDate, NewPassword } from "./schemas.ts"

export const ChangePassword = Schema.Struct({
  currentPassword: InputString.check(Schema.isMinLength(1), Schema.isMaxLength(1024)),
  newPassword: NewPassword
})

export const PasswordChanged = Schema.Struct({
  /** How many other sessions of the admin were signed out. */
  otherSessionsEnded: Schema.Number
})

export const SessionView = Schema.Struct({
  /** The session's public id (for DELETE); it is not the cookie and signs nobody in. */
  id: Schema.String,
  createdAt: IsoDate,
  lastSeenAt: IsoDate.annotate({ description: "ISO 8601 time, to within a minute" }),
  expiresAt: IsoDate,
  clientAddress: Schema.NullOr(Schema.String),
  userAgent: Schema.NullOr(Schema.String),
  /** The session this request was made with. */
  current: Schema.Boolean
})
export type SessionView = typeof SessionView.Type

export const SessionsView = Schema.Struct({ items: Schema.Array(SessionView) })
