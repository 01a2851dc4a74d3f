/**
 * The sign-in audit: the email comes from the request body (already read and
 * kept by the request), never the password; the admin's id from the account.
 * A login refused by the rate limit (429) is not recorded: the limit is
 * there so that a flood of guesses costs little, and each guess would be a
 * write here.
 */
import { AdminRepository, AuditLog } from "@botfleet/application"
import { Clock, Effect, Layer, Option, Schema } from "effect"
import { HttpServerRequest } from "effect/http"
import { clientAddressOf, TrustProxy } from "../http/clientAddress.ts"
import { Forbidden, Unauthorized } from "./ApiErrors.ts"
import { AuditSignIn } from "./AuditSignIn.ts"

/** By `<group>.<endpoint>`. */
const ACTIONS: Readonly<Record<string, string>> = {
  "auth.login": "session.login",
  "auth.register": "admin.register",
  "setup.complete": "admin.setup"
}

/** A registration token or setup link that did not work. */
const REFUSED_LINKS = new Set(["registration_refused", "invalid_link", "already_set_up"])

const emailOf = Schema.decodeUnknownOption(Schema.Struct({ email: Schema.String }))

/** What makes a sign-in worth recording as refused: wrong credentials or registration token. */
const refusalOf = (error: unknown): string | undefined => {
  if (error instanceof Unauthorized && error.error.code === "invalid_credentials")
    return "invalid credentials"
  if (error instanceof Forbidden && REFUSED_LINKS.has(error.error.code)) return error.error.message
  return undefined
}

export const AuditSignInLive = Layer.effect(
  AuditSignIn,
  Effect.gen(function* () {
    const audit = yield* AuditLog
    const admins = yield* AdminRepository
    const proxies = yield* TrustProxy
    return AuditSignIn.of((httpEffect, { endpoint, group }) =>
      Effect.gen(function* () {
        const request = yield* HttpServerRequest.HttpServerRequest
        const name = `${group.identifier}.${endpoint.identifier}`
        const action = ACTIONS[name] ?? name
        const record = (outcome: "ok" | "refused", detail: string | null) =>
          Effect.gen(function* () {
            const body = yield* Effect.option(request.json)
            const email = Option.getOrNull(
              Option.map(Option.flatMap(body, emailOf), (value) => value.email.trim().toLowerCase())
            )
            const admin = email === null ? Option.none() : yield* admins.findByEmail(email)
            const adminId = Option.getOrNull(Option.map(admin, (found) => found.id))
            yield* audit.record({
              at: new Date(yield* Clock.currentTimeMillis),
              adminId: outcome === "ok" ? adminId : null,
              adminEmail: email,
              action,
              objectType: "admin",
              objectId: adminId,
              outcome,
              detail,
              address: clientAddressOf(request, proxies)
            })
          })
        return yield* httpEffect.pipe(
          Effect.tap((response) => (response.status < 400 ? record("ok", null) : Effect.void)),
          Effect.tapError((error) => {
            const refusal = refusalOf(error)
            return refusal === undefined ? Effect.void : record("refused", refusal)
          })
        )
      })
    )
  })
)
