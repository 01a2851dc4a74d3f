/**
 * scrypt from node:crypto, stored as `scrypt$N$r$p$salt$hash`: how passwords
 * were kept before Argon2id. It still verifies those hashes (the Argon2id
 * hasher replaces them at the next login).
 */
import { randomBytes, scrypt, timingSafeEqual } from "node:crypto"
import type { PasswordHasher } from "@botfleet/application"
import { Effect, Redacted } from "effect"

/** The cost hashes were made with; verification reads each hash's own. */
const COST = { N: 2 ** 15, r: 8, p: 1 }
const KEY_LENGTH = 32

const derive = (password: string, salt: Buffer, cost: typeof COST) =>
  Effect.callback<Buffer>((resume) => {
    scrypt(password, salt, KEY_LENGTH, { ...cost, maxmem: 128 * cost.N * cost.r * 2 }, (error, key) =>
      resume(error ? Effect.die(error) : Effect.succeed(key))
    )
  })

export const make = (cost = COST): PasswordHasher["Service"] => ({
  hash: (password) =>
    Effect.gen(function* () {
      const salt = randomBytes(16)
      const key = yield* derive(Redacted.value(password), salt, cost)
      return `scrypt$${cost.N}$${cost.r}$${cost.p}$${salt.toString("base64url")}$${key.toString("base64url")}`
    }),
  verify: (password, stored) =>
    Effect.gen(function* () {
      const [scheme, N, r, p, salt, hash] = stored.split("$")
      if (scheme !== "scrypt" || !salt || !hash) return false
      const expected = Buffer.from(hash, "base64url")
      const key = yield* derive(Redacted.value(password), Buffer.from(salt, "base64url"), {
        N: Number(N),
        r: Number(r),
        p: Number(p)
      })
      return key.length === expected.length && timingSafeEqual(key, expected)
    }),
  needsRehash: (stored) => {
    const [scheme, N, r, p] = stored.split("$")
    return scheme !== "scrypt" || Number(N) < cost.N || Number(r) < cost.r || Number(p) < cost.p
  }
})
