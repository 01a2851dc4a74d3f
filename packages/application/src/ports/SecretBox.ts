/** Encrypts bot tokens at rest. The key never leaves the adapter. */
import { Context, type Effect, type Redacted, Schema } from "effect"

export class SecretUnreadable extends Schema.TaggedError<SecretUnreadable>()("SecretUnreadable", {
  reason: Schema.String
}) {
  override get message() {
    return `stored secret cannot be decrypted: ${this.reason}`
  }
}

export class SecretBox extends Context.Service<
  SecretBox,
  {
    readonly encrypt: (plain: Redacted.Redacted<string>) => Effect.Effect<string>
    readonly decrypt: (ciphertext: string) => Effect.Effect<Redacted.Redacted<string>, SecretUnreadable>
  }
>()("@botfleet/application/SecretBox") {}
