/** The session middleware: a valid session cookie provides `CurrentAdmin`, anything else is 401. */
import { AuthService } from "@botfleet/application"
import { Effect, Layer } from "effect"
import { error, Unauthorized } from "./ApiErrors.ts"
import { Authentication, CurrentAdmin } from "./Authentication.ts"

export const AuthenticationLive = Layer.effect(
  Authentication,
  Effect.gen(function* () {
    const auth = yield* AuthService
    return Authentication.of({
      session: (httpEffect, { credential }) =>
        auth.authenticate(credential).pipe(
          Effect.mapError(() => new Unauthorized(error("unauthorized", "no valid session: log in first"))),
          Effect.flatMap((admin) =>
            Effect.provideService(httpEffect, CurrentAdmin, {
              id: admin.id,
              email: admin.email,
              createdAt: admin.createdAt
            })
          )
        )
    })
  })
)
