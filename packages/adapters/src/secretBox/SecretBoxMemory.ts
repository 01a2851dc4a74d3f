/**
 * SecretBox for tests: reversible and not plaintext (so a test can tell that a
 * token was stored encrypted), with none of the cost or key handling of AES.
 */
import { SecretBox, SecretUnreadable } from "@botfleet/application"
import { Effect, Layer, Redacted } from "effect"

const PREFIX = "memory:"

export const layerMemory: Layer.Layer<SecretBox> = Layer.succeed(
  SecretBox,
  SecretBox.of({
    encrypt: (plain) =>
      Effect.sync(() => `${PREFIX}${Buffer.from(Redacted.value(plain)).toString("base64url")}`),
    decrypt: (ciphertext) =>
      ciphertext.startsWith(PREFIX)
        ? Effect.succeed(
            Redacted.make(Buffer.from(ciphertext.slice(PREFIX.length), "base64url").toString("utf8"))
          )
        : Effect.fail(new SecretUnreadable({ reason: "not written by the in-memory SecretBox" }))
  })
)
