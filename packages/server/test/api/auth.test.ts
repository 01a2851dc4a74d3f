/**
 * Sessions over HTTP: the first admin from the environment logs in and gets
 * an HttpOnly cookie; wrong credentials say only "invalid credentials" and lock
 * out an (email, address) pair and an address, never an email from everywhere;
 * logout revokes; registration needs the token and is limited per address.
 */
import { createHash, randomUUID } from "node:crypto"
import { PasswordHasherScrypt } from "@botfleet/adapters"
import { assert, layer } from "@effect/vitest"
import { Effect, Option, Redacted } from "effect"
import { AdminView } from "../../src/api/schemas.ts"
import {
  ADMIN,
  type ApiResponse,
  expectBody,
  expectError,
  loggedIn,
  makeClient,
  withAdmin
} from "../support/apiClient.ts"
import { layer as serverLayer, TestServer } from "../support/inProcessServer.ts"

const REGISTRATION_TOKEN = "let-me-in-registration-token-of-32-chars"

const sessionCookieOf = (response: ApiResponse) =>
  response.headers.getSetCookie().find((line) => line.startsWith("botfleet_session="))

let registrations = 0
/** Each from an address of its own (through the trusted proxy): registration is limited to 5 per address. */
const register = (baseUrl: string, email: string, password: string, registrationToken = REGISTRATION_TOKEN) =>
  makeClient(baseUrl).post(
    "/api/auth/register",
    { email, password, registrationToken },
    { headers: { "x-forwarded-for": `198.51.100.${++registrations}` } }
  )

layer(
  serverLayer(
    withAdmin({
      adminRegistrationToken: Option.some(Redacted.make(REGISTRATION_TOKEN)),
      trustProxy: ["127.0.0.1"]
    })
  ),
  {
    timeout: 60_000,
    excludeTestServices: true
  }
)("auth", (it) => {
  it.effect("the first admin logs in: 200 and an HttpOnly, SameSite=Lax cookie, not Secure over http", () =>
    Effect.gen(function* () {
      const server = yield* TestServer
      const response = yield* makeClient(server.baseUrl).login(ADMIN.email, ADMIN.password)
      const admin = expectBody(response, 200, AdminView)
      assert.strictEqual(admin.email, ADMIN.email)
      const cookie = sessionCookieOf(response)
      assert.isDefined(cookie, "a session cookie is set")
      const attributes = cookie!.split(";").map((part) => part.trim().toLowerCase())
      assert.include(attributes, "httponly")
      assert.include(attributes, "samesite=lax")
      assert.include(attributes, "path=/")
      assert.notInclude(attributes, "secure")
      assert.isTrue(
        attributes.some((attribute) => attribute.startsWith("expires=")),
        "the cookie lasts as long as the session"
      )
      assert.isAtLeast(cookie!.split(";")[0]!.length - "botfleet_session=".length, 32)
    })
  )

  it.effect("the email is not case-sensitive at login", () =>
    Effect.gen(function* () {
      const server = yield* TestServer
      const response = yield* makeClient(server.baseUrl).login(ADMIN.email.toUpperCase(), ADMIN.password)
      assert.strictEqual(expectBody(response, 200, AdminView).email, ADMIN.email)
    })
  )

  it.effect("sessions are stored as hashes and end at their expiry", () =>
    Effect.gen(function* () {
      const server = yield* TestServer
      const api = yield* loggedIn(server.baseUrl)
      const session = api.cookie("botfleet_session")!
      const sha256 = (text: string) => createHash("sha256").update(text).digest("hex")
      const stored = yield* server.sql<{ idHash: string; adminId: string; expiresAt: Date }>`
        SELECT id_hash AS "idHash", admin_id AS "adminId", expires_at AS "expiresAt"
        FROM admin_sessions WHERE id_hash IN (${session}, ${sha256(session)})`.pipe(Effect.orDie)
      assert.deepStrictEqual(
        stored.map((row) => row.idHash),
        [sha256(session)],
        "only the hash of the session id is stored"
      )
      const week = 7 * 24 * 3600_000
      assert.approximately(new Date(stored[0]!.expiresAt).getTime(), Date.now() + week, 60_000)

      // The same admin with a session that ran out a minute ago.
      const expired = "an-expired-session-id-for-this-test"
      yield* server.sql`
        INSERT INTO admin_sessions (id_hash, admin_id, expires_at)
        VALUES (${sha256(expired)}, ${stored[0]!.adminId}, ${new Date(Date.now() - 60_000)})`.pipe(
        Effect.orDie
      )
      const response = yield* makeClient(server.baseUrl).get("/api/auth/me", {
        headers: { cookie: `botfleet_session=${expired}` }
      })
      expectError(response, 401, "unauthorized")
    })
  )

  it.effect("/me answers with a session and is 401 without one or with a made-up one", () =>
    Effect.gen(function* () {
      const server = yield* TestServer
      const api = yield* loggedIn(server.baseUrl)
      assert.strictEqual(expectBody(yield* api.get("/api/auth/me"), 200, AdminView).email, ADMIN.email)

      const anonymous = yield* makeClient(server.baseUrl).get("/api/auth/me")
      assert.deepStrictEqual(anonymous.body, {
        error: { code: "unauthorized", message: "no valid session: log in first" }
      })
      expectError(anonymous, 401, "unauthorized")
      const forged = yield* makeClient(server.baseUrl).get("/api/auth/me", {
        headers: { cookie: "botfleet_session=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA" }
      })
      expectError(forged, 401, "unauthorized")
    })
  )

  it.effect("a wrong password and an unknown email get the same 401 'invalid credentials'", () =>
    Effect.gen(function* () {
      const server = yield* TestServer
      const wrongPassword = yield* makeClient(server.baseUrl).login(ADMIN.email, "not the password at all")
      const unknownEmail = yield* makeClient(server.baseUrl).login("nobody@example.com", ADMIN.password)
      const expected = { error: { code: "invalid_credentials", message: "invalid credentials" } }
      assert.strictEqual(wrongPassword.status, 401)
      assert.deepStrictEqual(wrongPassword.body, expected)
      assert.strictEqual(unknownEmail.status, 401)
      assert.deepStrictEqual(unknownEmail.body, expected)
      assert.isUndefined(sessionCookieOf(wrongPassword))
      assert.isUndefined(sessionCookieOf(unknownEmail))
    })
  )

  it.effect(
    "the 6th failed login for an email from one address is 429 with Retry-After and X-RateLimit-*; even the right password, from that address only",
    () =>
      Effect.gen(function* () {
        const server = yield* TestServer
        const email = "guessed@example.com"
        const password = "the right password, long enough"
        assert.strictEqual((yield* register(server.baseUrl, email, password)).status, 201)
        const client = makeClient(server.baseUrl)

        for (let attempt = 1; attempt <= 5; attempt++) {
          const failed = yield* client.login(email, `wrong guess ${attempt}`)
          expectError(failed, 401, "invalid_credentials")
          assert.strictEqual(failed.headers.get("x-ratelimit-limit"), "5")
          assert.strictEqual(failed.headers.get("x-ratelimit-remaining"), String(5 - attempt))
        }

        const blocked = yield* client.login(email, "wrong guess 6")
        expectError(blocked, 429, "too_many_requests")
        const retryAfter = Number(blocked.headers.get("retry-after"))
        assert.isTrue(
          retryAfter > 0 && retryAfter <= 60,
          `Retry-After: ${retryAfter} (the first lockout is a minute)`
        )
        assert.strictEqual(blocked.headers.get("x-ratelimit-limit"), "5")
        assert.strictEqual(blocked.headers.get("x-ratelimit-remaining"), "0")
        assert.isAbove(Number(blocked.headers.get("x-ratelimit-reset")), 0)

        const rightButBlocked = yield* client.login(email, password)
        expectError(rightButBlocked, 429, "too_many_requests")
        assert.isUndefined(sessionCookieOf(rightButBlocked), "no session while blocked")
        expectError(yield* client.get("/api/auth/me"), 401, "unauthorized")

        // The lockout is per email and address: other admins are not locked out, and the right password
        // from another address signs in.
        yield* loggedIn(server.baseUrl)
        const elsewhere = yield* client.request("POST", "/api/auth/login", {
          json: { email, password },
          headers: { "x-forwarded-for": "203.0.113.77" }
        })
        assert.strictEqual(elsewhere.status, 200, elsewhere.text)
      })
  )

  it.effect("a login body without a password or with a malformed email is 400 naming the field", () =>
    Effect.gen(function* () {
      const server = yield* TestServer
      const client = makeClient(server.baseUrl)
      const noPassword = yield* client.post("/api/auth/login", { email: ADMIN.email })
      assert.include(expectError(noPassword, 400, "invalid_request"), "body.password:")
      const badEmail = yield* client.login("admin", ADMIN.password)
      assert.include(expectError(badEmail, 400, "invalid_request"), "body.email:")
      assert.isUndefined(client.cookie("botfleet_session"))
    })
  )

  it.effect("logout revokes the session: the old cookie is 401 afterwards, other sessions live on", () =>
    Effect.gen(function* () {
      const server = yield* TestServer
      const api = yield* loggedIn(server.baseUrl)
      const other = yield* loggedIn(server.baseUrl)
      const session = api.cookie("botfleet_session")
      assert.isDefined(session)

      const logout = yield* api.post("/api/auth/logout")
      assert.strictEqual(logout.status, 204)
      assert.match(
        sessionCookieOf(logout) ?? "",
        /Max-Age=0|Expires=Thu, 01 Jan 1970/i,
        "the cookie is cleared"
      )
      assert.isUndefined(api.cookie("botfleet_session"))

      const replayed = yield* makeClient(server.baseUrl).get("/api/auth/me", {
        headers: { cookie: `botfleet_session=${session}` }
      })
      expectError(replayed, 401, "unauthorized")
      assert.strictEqual((yield* other.get("/api/auth/me")).status, 200)
    })
  )

  it.effect("register with the right token is 201 and the new admin can log in", () =>
    Effect.gen(function* () {
      const server = yield* TestServer
      const email = "second.admin@example.com"
      const password = "a second admin's password"
      const registered = yield* register(server.baseUrl, email, password)
      const admin = expectBody(registered, 201, AdminView)
      assert.strictEqual(admin.email, email)
      assert.notProperty(admin, "passwordHash")
      // Signed in at once; Location is their own account.
      assert.strictEqual(registered.headers.get("location"), "/api/auth/me")
      const cookie = sessionCookieOf(registered)?.split(";")[0]
      assert.isDefined(cookie)
      const me = yield* Effect.promise(() =>
        fetch(`${server.baseUrl}/api/auth/me`, { headers: { cookie: cookie! } }).then((r) => r.json())
      )
      assert.strictEqual((me as { id: string }).id, admin.id)
      const api = yield* loggedIn(server.baseUrl, { email, password })
      assert.strictEqual(expectBody(yield* api.get("/api/auth/me"), 200, AdminView).id, admin.id)
    })
  )

  it.effect("register with a wrong token is 403 and creates nobody", () =>
    Effect.gen(function* () {
      const server = yield* TestServer
      const email = "intruder@example.com"
      const password = "an intruder's long password"
      expectError(
        yield* register(server.baseUrl, email, password, "guessed-token"),
        403,
        "registration_refused"
      )
      expectError(yield* register(server.baseUrl, email, password, ""), 403, "registration_refused")
      expectError(yield* makeClient(server.baseUrl).login(email, password), 401, "invalid_credentials")
    })
  )

  it.effect("register an email that has an account is 409, whatever its case", () =>
    Effect.gen(function* () {
      const server = yield* TestServer
      const password = "yet another long password"
      expectError(yield* register(server.baseUrl, ADMIN.email, password), 409, "email_taken")
      expectError(yield* register(server.baseUrl, ADMIN.email.toUpperCase(), password), 409, "email_taken")
    })
  )

  it.effect("register with a short password or a malformed email is 400 naming the field", () =>
    Effect.gen(function* () {
      const server = yield* TestServer
      const short = yield* register(server.baseUrl, "short@example.com", "11 chars...")
      assert.include(expectError(short, 400, "invalid_request"), "body.password:")
      const noEmail = yield* register(server.baseUrl, "not an email", "a long enough password")
      assert.include(expectError(noEmail, 400, "invalid_request"), "body.email:")
      const missing = yield* makeClient(server.baseUrl).post("/api/auth/register", {
        email: "missing@example.com",
        password: "a long enough password"
      })
      assert.include(expectError(missing, 400, "invalid_request"), "body.registrationToken:")
    })
  )
})

layer(serverLayer(withAdmin()), { timeout: 60_000, excludeTestServices: true })(
  "auth without ADMIN_REGISTRATION_TOKEN",
  (it) => {
    it.effect("register is 403 whatever token is given", () =>
      Effect.gen(function* () {
        const server = yield* TestServer
        for (const registrationToken of ["", "anything", REGISTRATION_TOKEN]) {
          const response = yield* makeClient(server.baseUrl).post("/api/auth/register", {
            email: "new@example.com",
            password: "a long enough password",
            registrationToken
          })
          expectError(response, 403, "registration_refused")
        }
        expectError(
          yield* makeClient(server.baseUrl).login("new@example.com", "a long enough password"),
          401,
          "invalid_credentials"
        )
      })
    )
  }
)

layer(serverLayer(withAdmin()), { timeout: 60_000, excludeTestServices: true })(
  "auth rate limit per IP",
  (it) => {
    it.effect("20 failed logins from one address, over many emails, block it for every email (429)", () =>
      Effect.gen(function* () {
        const server = yield* TestServer
        const client = makeClient(server.baseUrl)
        for (let attempt = 1; attempt <= 20; attempt++) {
          expectError(yield* client.login(`guess${attempt}@example.com`, "wrong"), 401, "invalid_credentials")
        }
        const blocked = yield* client.login(ADMIN.email, ADMIN.password)
        expectError(blocked, 429, "too_many_requests")
        assert.strictEqual(blocked.headers.get("x-ratelimit-limit"), "20")
        assert.strictEqual(blocked.headers.get("x-ratelimit-remaining"), "0")
        assert.isAbove(Number(blocked.headers.get("retry-after")), 0)
        // A client cannot pick another address for itself: without TRUST_PROXY, X-Forwarded-For is ignored.
        const spoofed = yield* client.request("POST", "/api/auth/login", {
          json: { email: ADMIN.email, password: ADMIN.password },
          headers: { "x-forwarded-for": "203.0.113.9" }
        })
        expectError(spoofed, 429, "too_many_requests")
      })
    )
  }
)

layer(serverLayer(withAdmin()), { timeout: 60_000, excludeTestServices: true })(
  "auth rate limit under concurrency",
  (it) => {
    // Each attempt is claimed (one upsert under the row lock) before the password is checked, so guesses
    // sent at the same time cannot all pass a check made before any of them is counted.
    it.effect("15 wrong passwords sent at once: at most 5 are tried, the rest are 429", () =>
      Effect.gen(function* () {
        const server = yield* TestServer
        const attempts = yield* Effect.forEach(
          Array.from({ length: 15 }, (_, index) => `wrong guess ${index}`),
          (password) => makeClient(server.baseUrl).login(ADMIN.email, password),
          { concurrency: "unbounded" }
        )
        const tried = attempts.filter((response) => response.status === 401).length
        const refused = attempts.filter((response) => response.status === 429).length
        assert.strictEqual(tried + refused, 15)
        assert.isAtMost(tried, 5, `${tried} guesses were checked against the password`)
      })
    )
  }
)

// A server of its own: the tests above spend this address's login allowance.
layer(serverLayer(withAdmin()), { timeout: 60_000, excludeTestServices: true })("password hashes", (it) => {
  it.effect(
    "passwords are Argon2id; an older scrypt hash is upgraded at the next successful login only",
    () =>
      Effect.gen(function* () {
        const server = yield* TestServer
        const email = "legacy.admin@example.com"
        const password = "a password from the scrypt days"
        const scrypt = yield* PasswordHasherScrypt.make({ N: 2 ** 10, r: 8, p: 1 }).hash(
          Redacted.make(password)
        )
        yield* server.sql`
        INSERT INTO admins (id, email, password_hash, created_at)
        VALUES (${randomUUID()}, ${email}, ${scrypt}, now())`.pipe(Effect.orDie)
        const storedHash = Effect.map(
          server.sql<{ hash: string }>`SELECT password_hash AS hash FROM admins WHERE email = ${email}`,
          (rows) => rows[0]!.hash
        ).pipe(Effect.orDie)

        expectError(
          yield* makeClient(server.baseUrl).login(email, "not the password"),
          401,
          "invalid_credentials"
        )
        assert.strictEqual(yield* storedHash, scrypt, "a failed login changes nothing")

        expectBody(yield* makeClient(server.baseUrl).login(email, password), 200, AdminView)
        const upgraded = yield* storedHash
        assert.match(upgraded, /^\$argon2id\$v=19\$m=19456,t=2,p=1\$/)
        expectBody(yield* makeClient(server.baseUrl).login(email, password), 200, AdminView)
        assert.strictEqual(yield* storedHash, upgraded, "a current hash is kept")

        const [first] = yield* server.sql<{ hash: string }>`
        SELECT password_hash AS hash FROM admins WHERE email = ${ADMIN.email}`.pipe(Effect.orDie)
        assert.match(first!.hash, /^\$argon2id\$/, "new hashes are Argon2id")
      })
  )
})
