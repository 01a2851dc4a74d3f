/**
 * AuthService's session rules on the in-memory twins with the TestClock: the
 * idle timeout to the minute, last_seen_at written at most once a minute, the
 * 7-day limit whatever the use, and a password change ending the other sessions.
 */
import { AdminsMemory, PasswordHasherScrypt, RepositoriesMemory } from "@botfleet/adapters"
import {
  AuthService,
  PasswordHasher,
  SESSION_TTL_MS,
  SessionRepository,
  Settings
} from "@botfleet/application"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Layer, Option, Redacted } from "effect"
import { TestClock } from "effect/testing"

const IDLE_MINUTES = 120
const EMAIL = "admin@example.com"
const PASSWORD = Redacted.make("correct horse battery staple")

const services = AuthService.layer.pipe(
  Layer.provideMerge(
    Layer.mergeAll(
      AdminsMemory.layerMemory,
      RepositoriesMemory.layer,
      Layer.succeed(PasswordHasher, PasswordHasherScrypt.make({ N: 2 ** 10, r: 8, p: 1 })),
      Layer.succeed(
        Settings,
        Settings.of({
          publicUrl: Option.none(),
          defaultModel: "test-model",
          registrationToken: Option.none(),
          sessionIdleMinutes: IDLE_MINUTES
        })
      )
    )
  )
)

const signedIn = Effect.gen(function* () {
  const auth = yield* AuthService
  yield* auth.ensureAdmin(EMAIL, PASSWORD)
  return yield* auth.login(EMAIL, PASSWORD, { address: "203.0.113.7", userAgent: "x".repeat(2_000) })
})

/** Every stored session of the admin, whatever its age. */
const storedSessions = (adminId: string) =>
  Effect.gen(function* () {
    return yield* (yield* SessionRepository).listLive(adminId, new Date(0), new Date(-1))
  })

const lastSeenOf = (adminId: string) =>
  Effect.map(storedSessions(adminId), (sessions) => sessions[0]!.lastSeenAt.getTime())

describe("AuthService sessions", () => {
  it.effect(
    "a session unused for just under the idle time lives; at the idle time it is refused and deleted",
    () =>
      Effect.gen(function* () {
        const auth = yield* AuthService
        const { admin, session } = yield* signedIn
        yield* TestClock.adjust(`${IDLE_MINUTES * 60 - 1} seconds`)
        yield* auth.authenticate(session)
        yield* TestClock.adjust(`${IDLE_MINUTES * 60} seconds`)
        const refused = yield* Effect.flip(auth.authenticate(session))
        assert.strictEqual(refused._tag, "InvalidSession")
        assert.deepStrictEqual(yield* storedSessions(admin.id), [], "deleted, not only refused")
      }).pipe(Effect.provide(services))
  )

  it.effect("last_seen_at is written at most once a minute", () =>
    Effect.gen(function* () {
      const auth = yield* AuthService
      const { admin, session } = yield* signedIn
      const signedInAt = yield* lastSeenOf(admin.id)
      yield* TestClock.adjust("59 seconds")
      yield* auth.authenticate(session)
      assert.strictEqual(yield* lastSeenOf(admin.id), signedInAt, "not written within the minute")
      yield* TestClock.adjust("1 second")
      yield* auth.authenticate(session)
      assert.strictEqual(yield* lastSeenOf(admin.id), signedInAt + 60_000, "written once a minute has passed")
    }).pipe(Effect.provide(services))
  )

  it.effect("a session used all along still ends 7 days after sign-in", () =>
    Effect.gen(function* () {
      const auth = yield* AuthService
      const { session } = yield* signedIn
      const steps = Math.floor(SESSION_TTL_MS / 3_600_000) - 1
      for (let hour = 0; hour < steps; hour++) {
        yield* TestClock.adjust("1 hour")
        yield* auth.authenticate(session)
      }
      yield* TestClock.adjust("1 hour")
      assert.strictEqual((yield* Effect.flip(auth.authenticate(session)))._tag, "InvalidSession")
    }).pipe(Effect.provide(services))
  )

  it.effect("the sign-in client is kept, the user agent cut to 512 characters", () =>
    Effect.gen(function* () {
      const auth = yield* AuthService
      const { admin, session } = yield* signedIn
      const [listed] = yield* auth.sessionsOf(admin.id, session)
      assert.strictEqual(listed!.clientAddress, "203.0.113.7")
      assert.strictEqual(listed!.userAgent, "x".repeat(512))
      assert.isTrue(listed!.current)
    }).pipe(Effect.provide(services))
  )

  it.effect("a password change ends the admin's other sessions and keeps the one given", () =>
    Effect.gen(function* () {
      const auth = yield* AuthService
      const { admin, session } = yield* signedIn
      const other = yield* auth.login(EMAIL, PASSWORD)
      const newPassword = Redacted.make("a new and longer password")
      const wrong = yield* Effect.flip(
        auth.changePassword(admin.id, session, Redacted.make("wrong"), newPassword)
      )
      assert.strictEqual(wrong._tag, "InvalidCredentials")
      yield* auth.authenticate(other.session)

      assert.strictEqual(yield* auth.changePassword(admin.id, session, PASSWORD, newPassword), 1)
      assert.strictEqual((yield* Effect.flip(auth.authenticate(other.session)))._tag, "InvalidSession")
      assert.strictEqual((yield* auth.authenticate(session)).id, admin.id)
      assert.strictEqual((yield* Effect.flip(auth.login(EMAIL, PASSWORD)))._tag, "InvalidCredentials")
      yield* auth.login(EMAIL, newPassword)
    }).pipe(Effect.provide(services))
  )
})
