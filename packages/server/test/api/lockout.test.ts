/**
 * Login lockout that spares the owner: failures are counted per (email,
 * client address) and per address, never per email alone, so a stranger
 * guessing the owner's password locks out only themselves, with a lockout that
 * doubles after each further failure, while the owner signs in from their own
 * address. Addresses are varied with X-Forwarded-For through a trusted proxy
 * (TRUST_PROXY=127.0.0.1, the test client's socket).
 */
import { Database } from "@botfleet/adapters/postgres"
import { serverUrl, TestDatabase } from "@botfleet/testing"
import { assert, layer } from "@effect/vitest"
import { Context, Effect, Layer } from "effect"
import { SESSION_COOKIE } from "../../src/api/Authentication.ts"
import { LOGIN_LOCKOUT_PER_EMAIL_AND_ADDRESS, LoginLockout } from "../../src/api/LoginLockout.ts"
import * as LoginLockoutSql from "../../src/api/LoginLockoutSql.ts"
import { AdminView } from "../../src/api/schemas.ts"
import {
  ADMIN,
  type ApiResponse,
  expectBody,
  expectError,
  makeClient,
  withAdmin
} from "../support/apiClient.ts"
import { layer as serverLayer, TestServer } from "../support/inProcessServer.ts"

const ATTACKER = "198.51.100.7"
const OWNER = "203.0.113.5"
const SPRAYER = "192.0.2.44"

const loginFrom = (baseUrl: string, address: string, email: string, password: string) =>
  makeClient(baseUrl).request("POST", "/api/auth/login", {
    json: { email, password },
    headers: { "x-forwarded-for": address }
  })

const retryAfterOf = (response: ApiResponse) => Number(response.headers.get("retry-after"))

const sessionCount = (server: TestServer["Service"]) =>
  Effect.map(
    server.sql<{ count: number }>`SELECT count(*)::int AS count FROM admin_sessions`,
    (rows) => rows[0]!.count
  ).pipe(Effect.orDie)

/** Ends the current lockout of a key as if its time had passed. */
const lockoutEnds = (server: TestServer["Service"], key: string) =>
  server.sql`UPDATE login_failures SET locked_until = now() - interval '1 second' WHERE key = ${key}`.pipe(
    Effect.orDie
  )

layer(serverLayer(withAdmin({ trustProxy: ["127.0.0.1"] })), { timeout: 60_000, excludeTestServices: true })(
  "login lockout",
  (it) => {
    it.effect(
      "5 wrong passwords lock the attacker's address out for that email (429, Retry-After); the owner signs in from theirs",
      () =>
        Effect.gen(function* () {
          const server = yield* TestServer
          const sessionsBefore = yield* sessionCount(server)
          for (let attempt = 1; attempt <= 5; attempt++) {
            const failed = yield* loginFrom(server.baseUrl, ATTACKER, ADMIN.email, `guess ${attempt}`)
            expectError(failed, 401, "invalid_credentials")
            assert.strictEqual(failed.headers.get("x-ratelimit-limit"), "5")
            assert.strictEqual(failed.headers.get("x-ratelimit-remaining"), String(5 - attempt))
          }
          const locked = yield* loginFrom(server.baseUrl, ATTACKER, ADMIN.email, "guess 6")
          assert.match(expectError(locked, 429, "too_many_requests"), /try again in \d+ s/)
          const retryAfter = retryAfterOf(locked)
          assert.isTrue(retryAfter > 0 && retryAfter <= 60, `Retry-After: ${retryAfter}`)
          // Even the right password is refused from the attacker's address while it is locked out.
          const rightButLocked = yield* loginFrom(server.baseUrl, ATTACKER, ADMIN.email, ADMIN.password)
          expectError(rightButLocked, 429, "too_many_requests")
          assert.isUndefined(
            rightButLocked.headers.getSetCookie().find((line) => line.startsWith(`${SESSION_COOKIE}=`))
          )
          assert.strictEqual(
            yield* sessionCount(server),
            sessionsBefore,
            "no session was made for the attacker"
          )

          // The owner, from their own address, at the same moment.
          const owner = makeClient(server.baseUrl)
          const signedIn = yield* owner.request("POST", "/api/auth/login", {
            json: { email: ADMIN.email, password: ADMIN.password },
            headers: { "x-forwarded-for": OWNER }
          })
          assert.strictEqual(expectBody(signedIn, 200, AdminView).email, ADMIN.email)
          assert.strictEqual(
            signedIn.headers.get("x-ratelimit-remaining"),
            "5",
            "the owner's count starts afresh"
          )
          assert.strictEqual((yield* owner.get("/api/auth/me")).status, 200)
          // ...and the attacker is still locked out after the owner's success.
          expectError(
            yield* loginFrom(server.baseUrl, ATTACKER, ADMIN.email, "guess 7"),
            429,
            "too_many_requests"
          )
        })
    )

    it.effect("each failure after a lockout doubles the next one: 60 s, then 120 s, then 240 s", () =>
      Effect.gen(function* () {
        const server = yield* TestServer
        const email = "doubling@example.com"
        const key = `login:${email}|${ATTACKER}`
        for (let attempt = 1; attempt <= 5; attempt++) {
          expectError(yield* loginFrom(server.baseUrl, ATTACKER, email, "wrong"), 401, "invalid_credentials")
        }
        const first = retryAfterOf(yield* loginFrom(server.baseUrl, ATTACKER, email, "wrong"))
        assert.isTrue(first > 50 && first <= 60, `first lockout: ${first} s`)

        yield* lockoutEnds(server, key)
        expectError(yield* loginFrom(server.baseUrl, ATTACKER, email, "wrong"), 401, "invalid_credentials")
        const second = retryAfterOf(yield* loginFrom(server.baseUrl, ATTACKER, email, "wrong"))
        assert.isTrue(second > 110 && second <= 120, `second lockout: ${second} s`)

        yield* lockoutEnds(server, key)
        expectError(yield* loginFrom(server.baseUrl, ATTACKER, email, "wrong"), 401, "invalid_credentials")
        const third = retryAfterOf(yield* loginFrom(server.baseUrl, ATTACKER, email, "wrong"))
        assert.isTrue(third > 230 && third <= 240, `third lockout: ${third} s`)
      })
    )

    it.effect("20 failures from one address over many emails lock that address out; others sign in", () =>
      Effect.gen(function* () {
        const server = yield* TestServer
        for (let attempt = 1; attempt <= 20; attempt++) {
          expectError(
            yield* loginFrom(server.baseUrl, SPRAYER, `sprayed${attempt}@example.com`, "Winter2026!"),
            401,
            "invalid_credentials"
          )
        }
        const locked = yield* loginFrom(server.baseUrl, SPRAYER, ADMIN.email, ADMIN.password)
        expectError(locked, 429, "too_many_requests")
        assert.strictEqual(locked.headers.get("x-ratelimit-limit"), "20")
        assert.isTrue(retryAfterOf(locked) > 0)
        assert.strictEqual((yield* loginFrom(server.baseUrl, OWNER, ADMIN.email, ADMIN.password)).status, 200)
      })
    )

    it.effect("signing in to one's own account does not wipe the address's failures against others", () =>
      Effect.gen(function* () {
        const server = yield* TestServer
        const address = "192.0.2.99"
        for (let attempt = 1; attempt <= 19; attempt++) {
          expectError(
            yield* loginFrom(server.baseUrl, address, `other${attempt}@example.com`, "wrong"),
            401,
            "invalid_credentials"
          )
          // The attacker's own account (the first admin here) signs in between guesses.
          assert.strictEqual(
            (yield* loginFrom(server.baseUrl, address, ADMIN.email, ADMIN.password)).status,
            200
          )
        }
        expectError(
          yield* loginFrom(server.baseUrl, address, "other20@example.com", "wrong"),
          401,
          "invalid_credentials"
        )
        expectError(
          yield* loginFrom(server.baseUrl, address, "other21@example.com", "wrong"),
          429,
          "too_many_requests"
        )
      })
    )
  }
)

class TwoLockouts extends Context.Service<
  TwoLockouts,
  { readonly one: LoginLockout["Service"]; readonly two: LoginLockout["Service"] }
>()("test/TwoLockouts") {}

/** Two connection pools on one database: two processes, as far as the lockout can tell. */
const twoPools = Layer.unwrap(
  Effect.gen(function* () {
    const db = yield* TestDatabase.TestDatabase
    const pool = () => LoginLockoutSql.layer.pipe(Layer.provide(Database.layerAt(db.url)))
    return Layer.effectContext(
      Effect.gen(function* () {
        const one = Context.get(yield* Layer.build(pool()), LoginLockout)
        const two = Context.get(yield* Layer.build(pool()), LoginLockout)
        return Context.make(TwoLockouts, { one, two })
      })
    )
  })
).pipe(Layer.provide(TestDatabase.layer(serverUrl(), Database.layerAt)), Layer.orDie)

layer(twoPools, { timeout: 60_000, excludeTestServices: true })("login lockout across processes", (it) => {
  it.effect("30 guesses at once through two pools: exactly 5 are let through to the password check", () =>
    Effect.gen(function* () {
      const { one, two } = yield* TwoLockouts
      const states = yield* Effect.forEach(
        Array.from({ length: 30 }, (_, i) => (i % 2 === 0 ? one : two)),
        (lockout) =>
          lockout.attempt("login:shared@example.com|198.51.100.1", LOGIN_LOCKOUT_PER_EMAIL_AND_ADDRESS),
        { concurrency: 15 }
      )
      assert.strictEqual(states.filter((state) => state.allowed).length, 5)
      const refused = states.filter((state) => !state.allowed)
      assert.isTrue(refused.every((state) => state.resetSeconds > 0 && state.resetSeconds <= 60))
    })
  )
})
