/**
 * Admins (owners only, by accessRules.ts): list, change a role, remove, invite.
 * And the invitee's side: accept an invitation with a password. The audit
 * entries of the owner's changes are written by the Authentication
 * middleware; accepting has no session, so it records its own. The invitee
 * then logs in as anyone does (the console does it for them).
 */
import { AdminService, AuditLog } from "@botfleet/application"
import { Clock, Effect, Redacted } from "effect"
import { HttpServerRequest } from "effect/http"
import { HttpApiBuilder } from "effect/http-api"
import { clientAddressOf, TrustProxy } from "../../http/clientAddress.ts"
import { Api } from "../Api.ts"
import { answerErrors } from "../ApiErrors.ts"
import { CurrentAdmin } from "../Authentication.ts"
import { noteForAudit } from "../auditNote.ts"
import { toAdminView } from "./AuthHandlers.ts"

export const AdminsHandlers = HttpApiBuilder.group(
  Api,
  "admins",
  Effect.fn(function* (handlers) {
    const admins = yield* AdminService
    return handlers
      .handle("list", () => Effect.map(admins.list, (all) => all.map(toAdminView)))
      .handle(
        "invite",
        Effect.fn(function* ({ payload }) {
          const owner = yield* CurrentAdmin
          const { invitation, token } = yield* admins
            .invite(owner.id, payload.email, payload.role)
            .pipe(answerErrors)
          yield* noteForAudit({
            objectId: invitation.id,
            detail: `${invitation.email} as ${invitation.role}`
          })
          return {
            id: invitation.id,
            email: invitation.email,
            role: invitation.role,
            expiresAt: invitation.expiresAt.toISOString(),
            token: Redacted.value(token),
            path: `/admin/invite#${Redacted.value(token)}`
          }
        })
      )
      .handle(
        "update",
        Effect.fn(function* ({ params, payload }) {
          const admin = yield* admins.changeRole(params.id, payload.role).pipe(answerErrors)
          yield* noteForAudit({ detail: `role ${admin.role}` })
          return toAdminView(admin)
        })
      )
      .handle("remove", ({ params }) => admins.remove(params.id).pipe(answerErrors))
  })
)

export const InvitationsHandlers = HttpApiBuilder.group(
  Api,
  "invitations",
  Effect.fn(function* (handlers) {
    const admins = yield* AdminService
    const audit = yield* AuditLog
    const proxies = yield* TrustProxy
    return handlers.handle(
      "accept",
      Effect.fn(function* ({ payload }) {
        const request = yield* HttpServerRequest.HttpServerRequest
        const admin = yield* admins
          .accept(Redacted.make(payload.token), Redacted.make(payload.password))
          .pipe(answerErrors)
        yield* audit.record({
          at: new Date(yield* Clock.currentTimeMillis),
          adminId: admin.id,
          adminEmail: admin.email,
          action: "invitation.accept",
          objectType: "admin",
          objectId: admin.id,
          outcome: "ok",
          detail: `as ${admin.role}`,
          address: clientAddressOf(request, proxies)
        })
        return toAdminView(admin)
      })
    )
  })
)
