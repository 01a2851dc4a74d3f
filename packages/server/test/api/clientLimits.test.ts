/**
 * Limits a client cannot reset: a made-up session cookie does not buy a fresh
 * API count (requests without a valid session count against the client
 * address), and registration is limited per address before the token is
 * checked, so the registration token cannot be guessed online.
 */
import { randomBytes } from "node:crypto"
import { assert, layer } from "@effect/vitest"
import { Effect, Option, Redacted } from "effect"
import { SESSION_COOKIE } from "../../src/api/Authentication.ts"
import { expectError, loggedIn, makeClient, withAdmin } from "../support/apiClient.ts"
import { layer as serverLayer, TestServer } from "../support/inProcessServer.ts"

const REGISTRATION_TOKEN = "the-registration-token-of-at-least-32-chars"

/** Windows are whole minutes: start a test well inside one, so its counts all land in the same window. */
const awayFromWindowEdge = Effect.promise(async () => {
  const left = 60_000 - (Date.now() % 60_000)
  if (left < 8_000) await new Promise((resolve) => setTimeout(resolve, left + 50))
})

const madeUpCookie = () => `${SESSION_COOKIE}=${randomBytes(32).toString("base64url")}`

const adminCount = (server: TestServer["Service"]) =>
  Effect.map(
    server.sql<{ count: number }>`SELECT count(*)::int AS count FROM admins`,
    (rows) => rows[0]!.count
  ).pipe(Effect.orDie)

layer(serverLayer(withAdmin({ apiRateLimitPerMinute: 5, trustProxy: ["127.0.0.1"] })), {
  timeout: 60_000,
  excludeTestServices: true
})("API limit by address", (it) => {
  it.effect("a flood with a new made-up cookie on every request is 429 at the address's limit", () =>
    Effect.gen(function* () {
      const server = yield* TestServer
      yield* awayFromWindowEdge
      const flood = (n: number) =>
        makeClient(server.baseUrl)
          .get("/api/bots", {
            headers: { cookie: madeUpCookie(), "x-forwarded-for": "198.51.100.20" }
          })
          .pipe(Effect.map((response) => ({ n, response })))
      for (let n = 1; n <= 5; n++) {
        const { response } = yield* flood(n)
        expectError(response, 401, "unauthorized")
        assert.strictEqual(response.headers.get("x-ratelimit-remaining"), String(5 - n))
      }
      const { response: refused } = yield* flood(6)
      expectError(refused, 429, "too_many_requests")
      assert.isTrue(Number(refused.headers.get("retry-after")) > 0)
      // Another address has its own count; a real session has its own too.
      const elsewhere = yield* makeClient(server.baseUrl).get("/api/bots", {
        headers: { cookie: madeUpCookie(), "x-forwarded-for": "198.51.100.21" }
      })
      expectError(elsewhere, 401, "unauthorized")
      const admin = yield* loggedIn(server.baseUrl)
      assert.strictEqual((yield* admin.get("/api/bots")).status, 200)
    })
  )
})

// A server of its own with the API limit out of the way, so only the registration limit can refuse.
layer(
  serverLayer(
    withAdmin({
      trustProxy: ["127.0.0.1"],
      adminRegistrationToken: Option.some(Redacted.make(REGISTRATION_TOKEN))
    })
  ),
  { timeout: 60_000, excludeTestServices: true }
)("registration limit", (it) => {
  it.effect(
    "registration-token guesses are 429 after 5 from an address, the right token too; nobody is created",
    () =>
      Effect.gen(function* () {
        const server = yield* TestServer
        const before = yield* adminCount(server)
        const register = (registrationToken: string, address: string) =>
          makeClient(server.baseUrl).request("POST", "/api/auth/register", {
            json: { email: "new.admin@example.com", password: "a long enough password", registrationToken },
            headers: { "x-forwarded-for": address }
          })
        for (let guess = 1; guess <= 5; guess++) {
          expectError(
            yield* register(`guess-${guess}-${"x".repeat(32)}`, "198.51.100.30"),
            403,
            "registration_refused"
          )
        }
        const refused = yield* register(`guess-6-${"x".repeat(32)}`, "198.51.100.30")
        assert.match(expectError(refused, 429, "too_many_requests"), /try again in \d+ s/)
        assert.isTrue(Number(refused.headers.get("retry-after")) > 0)
        assert.strictEqual(refused.headers.get("x-ratelimit-limit"), "5")
        // Counted before the token is looked at: the right one is refused as well.
        expectError(yield* register(REGISTRATION_TOKEN, "198.51.100.30"), 429, "too_many_requests")
        assert.strictEqual(yield* adminCount(server), before, "no admin was created")
        // Another address can still register with the right token.
        assert.strictEqual((yield* register(REGISTRATION_TOKEN, "198.51.100.31")).status, 201)
        assert.strictEqual(yield* adminCount(server), before + 1)
      })
  )
})
