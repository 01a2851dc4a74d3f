/** In-memory setup links, with the same one-owner and expiry rules, on the memory admins. */
import { AdminRepository, SetupRefused, SetupTokens } from "@botfleet/application"
import { Effect, Layer } from "effect"

export const layerMemory: Layer.Layer<SetupTokens, never, AdminRepository> = Layer.effect(
  SetupTokens,
  Effect.gen(function* () {
    const admins = yield* AdminRepository
    const tokens = new Map<string, Date>()
    return SetupTokens.of({
      issue: (tokenHash, now, expiresAt) =>
        Effect.sync(() => {
          for (const [hash, expiry] of tokens) if (expiry <= now) tokens.delete(hash)
          tokens.set(tokenHash, expiresAt)
        }),
      claim: (tokenHash, now, owner) =>
        Effect.gen(function* () {
          if (yield* admins.anyExists) return yield* new SetupRefused({ reason: "already_set_up" })
          const expiresAt = tokens.get(tokenHash)
          if (expiresAt === undefined || expiresAt <= now)
            return yield* new SetupRefused({ reason: "invalid_link" })
          yield* admins.insert(owner).pipe(Effect.orDie)
          tokens.clear()
        })
    })
  })
)
