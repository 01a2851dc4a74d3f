/**
 * Passwords with Argon2id at OWASP's minimum (19 MiB, 2 passes, 1 lane;
 * about 50 ms a hash here) from `@node-rs/argon2`: prebuilt for each platform,
 * no install script. scrypt at OWASP's cost would take 128 MiB and over a
 * second per login on a 2-core machine. Hashes made earlier with scrypt still
 * verify, and are replaced with Argon2id at the next successful login.
 */
import { PasswordHasher } from "@botfleet/application"
import { hash, parseOptions, verify } from "@node-rs/argon2"
import { Effect, Layer, Redacted } from "effect"
import * as PasswordHasherScrypt from "./PasswordHasherScrypt.ts"

interface Cost {
  /** KiB. */
  readonly memoryCost: number
  readonly timeCost: number
  readonly parallelism: number
}

const OWASP_MINIMUM: Cost = { memoryCost: 19_456, timeCost: 2, parallelism: 1 }
const ARGON2ID = 2
const legacy = PasswordHasherScrypt.make()

const isArgon2 = (stored: string) => stored.startsWith("$argon2")

export const make = (cost: Cost = OWASP_MINIMUM): PasswordHasher["Service"] => ({
  hash: (password) => Effect.promise(() => hash(Redacted.value(password), cost)),
  verify: (password, stored) =>
    isArgon2(stored)
      ? Effect.tryPromise(() => verify(stored, Redacted.value(password))).pipe(
          Effect.orElseSucceed(() => false) // a malformed stored hash
        )
      : legacy.verify(password, stored),
  needsRehash: (stored) => {
    if (!isArgon2(stored)) return true
    try {
      const used = parseOptions(stored)
      return (
        used.algorithm !== ARGON2ID ||
        used.memoryCost < cost.memoryCost ||
        used.timeCost < cost.timeCost ||
        used.parallelism < cost.parallelism
      )
    } catch {
      return true
    }
  }
})

export const layer: Layer.Layer<PasswordHasher> = Layer.succeed(PasswordHasher, make())
