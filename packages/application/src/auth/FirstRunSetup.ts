/**
 * The first run without ADMIN_EMAIL/ADMIN_PASSWORD: while no admin exists,
 * each start makes a one-time link (a random token, valid 60 minutes, kept
 * only as a hash) for the start-up log, and that link, and only it, creates
 * the first owner. No password ever passes through a shell or a config file.
 */
import { createHash, randomBytes, randomUUID } from "node:crypto"
import { Clock, Context, Effect, Layer, Option, type Redacted } from "effect"
import { type Admin, AdminRepository, PasswordHasher } from "../ports/Admins.ts"
import { type SetupRefused, SetupTokens } from "../ports/SetupTokens.ts"

export const SETUP_LINK_TTL_MS = 60 * 60 * 1000

const hashToken = (token: string) => createHash("sha256").update(token).digest("hex")

export class FirstRunSetup extends Context.Service<
  FirstRunSetup,
  {
    /** Whether the console should offer setup (no admin yet). */
    readonly needed: Effect.Effect<boolean>
    /** A fresh one-time token while no admin exists; none once one does. */
    readonly openIfNoAdmin: Effect.Effect<Option.Option<{ readonly token: string; readonly expiresAt: Date }>>
    /** Creates the first owner with the link's token. */
    readonly complete: (
      token: string,
      email: string,
      password: Redacted.Redacted<string>
    ) => Effect.Effect<Admin, SetupRefused>
  }
>()("@botfleet/application/FirstRunSetup") {
  static readonly layer = Layer.effect(
    FirstRunSetup,
    Effect.gen(function* () {
      const tokens = yield* SetupTokens
      const admins = yield* AdminRepository
      const hasher = yield* PasswordHasher
      const now = Effect.map(Clock.currentTimeMillis, (millis) => new Date(millis))

      const openIfNoAdmin = Effect.gen(function* () {
        if (yield* admins.anyExists) return Option.none()
        // 32 random bytes: guessing one online is hopeless, so the link needs no limiter of its own.
        const token = randomBytes(32).toString("base64url")
        const issuedAt = yield* now
        const expiresAt = new Date(issuedAt.getTime() + SETUP_LINK_TTL_MS)
        yield* tokens.issue(hashToken(token), issuedAt, expiresAt)
        return Option.some({ token, expiresAt })
      }).pipe(Effect.withSpan("FirstRunSetup.openIfNoAdmin"))

      const complete = Effect.fn("FirstRunSetup.complete")(function* (
        token: string,
        email: string,
        password: Redacted.Redacted<string>
      ) {
        const owner: Admin = {
          id: randomUUID(),
          email: email.trim().toLowerCase(),
          passwordHash: yield* hasher.hash(password),
          role: "owner",
          createdAt: yield* now
        }
        yield* tokens.claim(hashToken(token), owner.createdAt, owner)
        yield* Effect.logInfo("first owner created from the setup link", { admin_id: owner.id })
        return owner
      })

      return FirstRunSetup.of({
        needed: Effect.map(admins.anyExists, (exists) => !exists),
        openIfNoAdmin,
        complete
      })
    })
  )
}
