/** The first run: is setup needed, and create the owner with the link's token (then the console logs in). */
import { FirstRunSetup } from "@botfleet/application"
import { Effect, Redacted } from "effect"
import { HttpApiBuilder } from "effect/http-api"
import { Api } from "../Api.ts"
import { error, Forbidden } from "../ApiErrors.ts"
import { createdAt } from "../responseHeaders.ts"

export const SetupHandlers = HttpApiBuilder.group(
  Api,
  "setup",
  Effect.fn(function* (handlers) {
    const setup = yield* FirstRunSetup
    return handlers
      .handle("status", () => Effect.map(setup.needed, (needed) => ({ needed })))
      .handle(
        "complete",
        Effect.fn(function* ({ payload }) {
          const owner = yield* setup
            .complete(payload.token, payload.email, Redacted.make(payload.password))
            .pipe(Effect.mapError((refused) => new Forbidden(error(refused.reason, refused.message))))
          yield* createdAt("/api/auth/me")
          return {
            id: owner.id,
            email: owner.email,
            role: owner.role,
            createdAt: owner.createdAt.toISOString()
          }
        })
      )
  })
)
