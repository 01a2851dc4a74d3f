import { mkdtempSync, readFileSync, statSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import path from "node:path"
import { SecretBox } from "@botfleet/application"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Redacted } from "effect"
import * as SecretBoxAes from "../../src/secretBox/SecretBoxAes.ts"
import * as SecretBoxMemory from "../../src/secretBox/SecretBoxMemory.ts"

const TOKEN = "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw"
const keyA = Redacted.make(Buffer.alloc(32, 1).toString("base64"))
const keyB = Redacted.make(Buffer.alloc(32, 2).toString("base64"))
const boxWith = (key: Redacted.Redacted<string>) =>
  Effect.provide(Effect.service(SecretBox), SecretBoxAes.layer(key))

const tempDir = () => mkdtempSync(path.join(tmpdir(), "botfleet-secrets-"))

/** Flips one bit of the part at `index` of `v1:iv:tag:ciphertext`. */
const tamper = (stored: string, index: number) => {
  const parts = stored.split(":")
  const bytes = Buffer.from(parts[index]!, "base64url")
  bytes[0] = bytes[0]! ^ 1
  parts[index] = bytes.toString("base64url")
  return parts.join(":")
}

describe("SecretBoxAes", () => {
  it.effect("decrypts what it encrypted, and the stored form hides the token", () =>
    Effect.gen(function* () {
      const box = yield* boxWith(keyA)
      const stored = yield* box.encrypt(Redacted.make(TOKEN))
      assert.match(stored, /^v1:[\w-]+:[\w-]+:[\w-]+$/)
      assert.notInclude(stored, TOKEN)
      assert.notInclude(stored, "AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw")
      assert.strictEqual(Redacted.value(yield* box.decrypt(stored)), TOKEN)
    })
  )

  it.effect("two encryptions of one token differ (a fresh IV each time)", () =>
    Effect.gen(function* () {
      const box = yield* boxWith(keyA)
      const first = yield* box.encrypt(Redacted.make(TOKEN))
      const second = yield* box.encrypt(Redacted.make(TOKEN))
      assert.notStrictEqual(first, second)
      assert.notStrictEqual(first.split(":")[1], second.split(":")[1])
      assert.strictEqual(Redacted.value(yield* box.decrypt(second)), TOKEN)
    })
  )

  it.effect("a changed byte anywhere, or garbage, is SecretUnreadable", () =>
    Effect.gen(function* () {
      const box = yield* boxWith(keyA)
      const stored = yield* box.encrypt(Redacted.make(TOKEN))
      for (const index of [1, 2, 3]) {
        const error = yield* Effect.flip(box.decrypt(tamper(stored, index)))
        assert.strictEqual(error._tag, "SecretUnreadable")
      }
      for (const garbage of [
        "",
        TOKEN,
        "v1:a:b",
        "v2:AAAA:AAAA:AAAA",
        `${stored}:extra`,
        stored.replace("v1:", "v1:!")
      ]) {
        const error = yield* Effect.flip(box.decrypt(garbage))
        assert.strictEqual(error._tag, "SecretUnreadable")
      }
    })
  )

  it.effect("another key cannot read it", () =>
    Effect.gen(function* () {
      const stored = yield* (yield* boxWith(keyA)).encrypt(Redacted.make(TOKEN))
      const error = yield* Effect.flip((yield* boxWith(keyB)).decrypt(stored))
      assert.strictEqual(error._tag, "SecretUnreadable")
      assert.include(error.message, "wrong key")
    })
  )

  it.effect("a key that is not 32 bytes of base64 is refused without echoing it", () =>
    Effect.gen(function* () {
      for (const bad of ["", "not base64 at all!", Buffer.alloc(16).toString("base64")]) {
        const error = yield* Effect.flip(boxWith(Redacted.make(bad)))
        assert.strictEqual(error._tag, "SecretsKeyError")
        assert.include(error.message, "32 bytes")
        if (bad !== "") assert.notInclude(error.message, bad)
      }
      // base64url and surrounding whitespace are fine.
      yield* boxWith(Redacted.make(` ${Buffer.alloc(32, 250).toString("base64url")}\n`))
    })
  )

  it.effect("keyFromDataDir creates a 0600 key file once and reuses it", () =>
    Effect.gen(function* () {
      const dataDir = path.join(tempDir(), "nested", "data")
      const key = yield* SecretBoxAes.keyFromDataDir(dataDir)
      const file = path.join(dataDir, SecretBoxAes.KEY_FILE)
      assert.strictEqual(statSync(file).mode & 0o777, 0o600)
      assert.strictEqual(Buffer.from(Redacted.value(key), "base64").length, 32)
      assert.strictEqual(readFileSync(file, "utf8").trim(), Redacted.value(key))

      const again = yield* SecretBoxAes.keyFromDataDir(dataDir)
      assert.strictEqual(Redacted.value(again), Redacted.value(key))
      // A token stored with the first key is readable with the reloaded one.
      const stored = yield* (yield* boxWith(key)).encrypt(Redacted.make(TOKEN))
      assert.strictEqual(Redacted.value(yield* (yield* boxWith(again)).decrypt(stored)), TOKEN)
    })
  )

  it.effect("a key file that holds no valid key is a clear error, and is left alone", () =>
    Effect.gen(function* () {
      const dataDir = tempDir()
      const file = path.join(dataDir, SecretBoxAes.KEY_FILE)
      writeFileSync(file, "definitely-not-a-key\n")
      const error = yield* Effect.flip(SecretBoxAes.keyFromDataDir(dataDir))
      assert.strictEqual(error._tag, "SecretsKeyError")
      assert.include(error.message, file)
      assert.include(error.message, "not hold a valid secrets key")
      assert.strictEqual(readFileSync(file, "utf8"), "definitely-not-a-key\n")
    })
  )
})

describe("SecretBoxMemory", () => {
  it.effect("round-trips without keeping the token in clear", () =>
    Effect.gen(function* () {
      const box = yield* Effect.provide(Effect.service(SecretBox), SecretBoxMemory.layerMemory)
      const stored = yield* box.encrypt(Redacted.make(TOKEN))
      assert.notInclude(stored, TOKEN)
      assert.strictEqual(Redacted.value(yield* box.decrypt(stored)), TOKEN)
      assert.strictEqual((yield* Effect.flip(box.decrypt(TOKEN)))._tag, "SecretUnreadable")
    })
  )
})
