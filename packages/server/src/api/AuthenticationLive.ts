/**
 * The session middleware: a valid session cookie (under either of its names)
 * provides `CurrentAdmin`, anything else is 401.
 */
import { AuthService, InvalidSession } from "@botfleet/application"
import { Effect, Layer, Redacted } from "effect"
import { error, Unauthorized } from "./ApiErrors.ts"
import { Authentication, CurrentAdmin } from "./Authentication.ts"

export const AuthenticationLive = Layer.effect(
  Authentication,
  Effect.gen(function* () {
    const auth = yield* AuthService
    const check = (
      httpEffect: Parameters<Authentication["Service"]["session"]>[0],
      { credential }: { readonly credential: Redacted.Redacted<string> }
    ) =>
      // An absent cookie decodes as "": no need to look it up.
      (Redacted.value(credential) === ""
        ? Effect.fail(new InvalidSession())
        : auth.authenticate(credential)
      ).pipe(
        Effect.mapError(() => new Unauthorized(error("unauthorized", "no valid session: log in first"))),
        Effect.flatMap((admin) =>
          Effect.provideService(httpEffect, CurrentAdmin, {
            id: admin.id,
            email: admin.email,
            createdAt: admin.createdAt
          })
        )
      )
    return Authentication.of({ secureSession: check, session: check })
  })
)
