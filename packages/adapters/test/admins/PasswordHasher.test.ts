import { assert, describe, it } from "@effect/vitest"
import { Effect, Redacted } from "effect"
import { PasswordHasherArgon2, PasswordHasherScrypt } from "../../src/index.ts"

const password = Redacted.make("correct horse battery staple")
const wrong = Redacted.make("correct horse battery stapler")

describe("PasswordHasherArgon2", () => {
  const hasher = PasswordHasherArgon2.make()

  it.effect("hashes with Argon2id at OWASP's minimum and verifies only the right password", () =>
    Effect.gen(function* () {
      const stored = yield* hasher.hash(password)
      assert.match(stored, /^\$argon2id\$v=19\$m=19456,t=2,p=1\$/)
      assert.isTrue(yield* hasher.verify(password, stored))
      assert.isFalse(yield* hasher.verify(wrong, stored))
      assert.isFalse(hasher.needsRehash(stored))
      assert.notStrictEqual(yield* hasher.hash(password), stored, "a new salt each time")
    })
  )

  it.effect("verifies scrypt hashes from before and asks to replace them", () =>
    Effect.gen(function* () {
      const legacy = yield* PasswordHasherScrypt.make({ N: 2 ** 10, r: 8, p: 1 }).hash(password)
      assert.isTrue(yield* hasher.verify(password, legacy))
      assert.isFalse(yield* hasher.verify(wrong, legacy))
      assert.isTrue(hasher.needsRehash(legacy))
    })
  )

  it.effect("a weaker Argon2 hash is replaced; a malformed one never verifies", () =>
    Effect.gen(function* () {
      const weak = yield* PasswordHasherArgon2.make({ memoryCost: 1024, timeCost: 1, parallelism: 1 }).hash(
        password
      )
      assert.isTrue(yield* hasher.verify(password, weak))
      assert.isTrue(hasher.needsRehash(weak))
      assert.isFalse(yield* hasher.verify(password, "$argon2id$v=19$garbage"))
      assert.isFalse(yield* hasher.verify(password, "plain text"))
      assert.isTrue(hasher.needsRehash("$argon2id$v=19$garbage"))
    })
  )
})
