/**
 * SecretBox with AES-256-GCM. Each encryption draws a fresh 12-byte IV; the
 * stored form is `v1:<iv>:<auth tag>:<ciphertext>`, each part base64url, so
 * the format can change later without guessing what an old value is.
 */
import { createCipheriv, createDecipheriv, randomBytes } from "node:crypto"
import { mkdir, readFile, writeFile } from "node:fs/promises"
import path from "node:path"
import { SecretBox, SecretUnreadable } from "@botfleet/application"
import { Effect, Layer, Redacted, Schema } from "effect"

/** The key is missing, malformed, or its file cannot be read or written. Never holds the key. */
export class SecretsKeyError extends Schema.TaggedError<SecretsKeyError>()("SecretsKeyError", {
  message: Schema.String
}) {}

const ALGORITHM = "aes-256-gcm"
const KEY_BYTES = 32
const IV_BYTES = 12
const TAG_BYTES = 16
const VERSION = "v1"
const BASE64 = /^[A-Za-z0-9+/_-]+={0,2}$/
const BASE64URL = /^[A-Za-z0-9_-]*$/

/** The 32 bytes of a base64 (or base64url) key, or a reason it is not one. */
const keyBytes = (key: string): Buffer | string => {
  const text = key.trim()
  if (!BASE64.test(text)) return "it is not base64"
  const bytes = Buffer.from(text, "base64")
  return bytes.length === KEY_BYTES ? bytes : `it decodes to ${bytes.length} bytes, not ${KEY_BYTES}`
}

const HOW_TO_MAKE_ONE = "(make one with `openssl rand -base64 32`)"

export const make = (
  key: Redacted.Redacted<string>
): Effect.Effect<SecretBox["Service"], SecretsKeyError> => {
  const bytes = keyBytes(Redacted.value(key))
  if (typeof bytes === "string") {
    return Effect.fail(
      new SecretsKeyError({
        message: `the secrets key must be ${KEY_BYTES} bytes in base64: ${bytes} ${HOW_TO_MAKE_ONE}`
      })
    )
  }

  const encrypt = Effect.fn("SecretBox.encrypt")(function* (plain: Redacted.Redacted<string>) {
    return yield* Effect.sync(() => {
      const iv = randomBytes(IV_BYTES)
      const cipher = createCipheriv(ALGORITHM, bytes, iv)
      const ciphertext = Buffer.concat([cipher.update(Redacted.value(plain), "utf8"), cipher.final()])
      return [VERSION, iv, cipher.getAuthTag(), ciphertext]
        .map((part) => part.toString("base64url"))
        .join(":")
    })
  })

  const decrypt = Effect.fn("SecretBox.decrypt")(function* (stored: string) {
    const parts = stored.split(":")
    const [version, iv, tag, ciphertext] = parts
    if (
      parts.length !== 4 ||
      version !== VERSION ||
      iv === undefined ||
      tag === undefined ||
      ciphertext === undefined
    ) {
      return yield* new SecretUnreadable({ reason: `not a ${VERSION} ciphertext` })
    }
    if (![iv, tag, ciphertext].every((part) => BASE64URL.test(part))) {
      return yield* new SecretUnreadable({ reason: "malformed ciphertext" })
    }
    const ivBytes = Buffer.from(iv, "base64url")
    const tagBytes = Buffer.from(tag, "base64url")
    if (ivBytes.length !== IV_BYTES || tagBytes.length !== TAG_BYTES) {
      return yield* new SecretUnreadable({ reason: "malformed ciphertext" })
    }
    // GCM checks the tag in final(): a wrong key or a changed byte both end up here.
    const plain = yield* Effect.try({
      try: () => {
        const decipher = createDecipheriv(ALGORITHM, bytes, ivBytes)
        decipher.setAuthTag(tagBytes)
        return Buffer.concat([
          decipher.update(Buffer.from(ciphertext, "base64url")),
          decipher.final()
        ]).toString("utf8")
      },
      catch: () => new SecretUnreadable({ reason: "authentication failed (wrong key or tampered data)" })
    })
    return Redacted.make(plain)
  })

  return Effect.succeed(SecretBox.of({ encrypt, decrypt }))
}

/** SecretBox on a base64 key of 32 bytes (`SECRETS_KEY`, or `keyFromDataDir`). */
export const layer = (key: Redacted.Redacted<string>): Layer.Layer<SecretBox, SecretsKeyError> =>
  Layer.effect(SecretBox, make(key))

export const KEY_FILE = "secrets.key"

/**
 * The key kept in `<dataDir>/secrets.key`, made on first use (32 random bytes,
 * base64, readable by the owner only). A file that is there but holds no valid
 * key is an error, never replaced: every stored token depends on it.
 */
export const keyFromDataDir = Effect.fn("SecretBox.keyFromDataDir")(function* (dataDir: string) {
  const file = path.join(dataDir, KEY_FILE)
  const failure = (what: string) => (cause: unknown) =>
    new SecretsKeyError({
      message: `${what} ${file}: ${cause instanceof Error ? cause.message : String(cause)}`
    })

  yield* Effect.tryPromise({
    try: () => mkdir(dataDir, { recursive: true, mode: 0o700 }),
    catch: failure("cannot create the folder of")
  })
  // `wx` creates only if absent, so two processes starting together keep one key.
  const created = yield* Effect.tryPromise({
    try: () =>
      writeFile(file, `${randomBytes(KEY_BYTES).toString("base64")}\n`, { mode: 0o600, flag: "wx" }).then(
        () => true,
        (error: NodeJS.ErrnoException) => (error.code === "EEXIST" ? false : Promise.reject(error))
      ),
    catch: failure("cannot create")
  })
  if (created) yield* Effect.logInfo("generated a new secrets key", { file })

  const text = yield* Effect.tryPromise({ try: () => readFile(file, "utf8"), catch: failure("cannot read") })
  const bytes = keyBytes(text)
  if (typeof bytes === "string") {
    return yield* new SecretsKeyError({
      message: `${file} does not hold a valid secrets key: ${bytes}; restore the original file (tokens encrypted with it cannot be read otherwise) or remove it to generate a new one`
    })
  }
  return Redacted.make(text.trim())
})
