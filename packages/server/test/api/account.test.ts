/**
 * The signed-in admin's account over HTTP: change my password (the current one
 * proven, guesses limited, my other sessions ended), list my sessions, end
 * one of mine but never someone else's, and the idle timeout.
 */
import { createHash, randomUUID } from "node:crypto"
import { assert, layer } from "@effect/vitest"
import { Effect, Option, Redacted, Schema } from "effect"
import { PasswordChanged, SessionsView } from "../../src/api/accountSchemas.ts"
import { AdminView } from "../../src/api/schemas.ts"
import {
  type ApiClient,
  expectBody,
  expectError,
  loggedIn,
  makeClient,
  unknownId,
  withAdmin
} from "../support/apiClient.ts"
import { layer as serverLayer, TestServer } from "../support/inProcessServer.ts"

const REGISTRATION_TOKEN = "account-test-registration-token-32-chars"
const sha256 = (text: string) => createHash("sha256").update(text).digest("hex")

let registrations = 0
/**
 * A new admin of its own (so a test's password change touches nobody else), and their first session.
 * Each registers from an address of its own (through the trusted proxy): registration is limited per address.
 */
const newAdmin = (baseUrl: string) =>
  Effect.gen(function* () {
    const credentials = { email: `admin-${randomUUID()}@example.com`, password: "the first long password" }
    const client = makeClient(baseUrl)
    const registered = yield* client.post(
      "/api/auth/register",
      { ...credentials, registrationToken: REGISTRATION_TOKEN },
      { headers: { "x-forwarded-for": `198.51.100.${++registrations}` } }
    )
    const admin = expectBody(registered, 201, AdminView)
    return { admin, credentials, client }
  })

const sessionOf = (client: ApiClient) => client.cookie("botfleet_session")!

type Sql = TestServer["Service"]["sql"]

const storedHash = (sql: Sql, adminId: string) =>
  Effect.map(
    sql<{ hash: string }>`SELECT password_hash AS hash FROM admins WHERE id = ${adminId}`,
    (rows) => rows[0]!.hash
  ).pipe(Effect.orDie)

const sessionRows = (sql: Sql, adminId: string) =>
  sql<{ id: string; idHash: string; lastSeenAt: Date }>`
    SELECT id, id_hash AS "idHash", last_seen_at AS "lastSeenAt"
    FROM admin_sessions WHERE admin_id = ${adminId} ORDER BY created_at`.pipe(Effect.orDie)

const changePassword = (client: ApiClient, currentPassword: string, newPassword: string) =>
  client.post("/api/auth/password", { currentPassword, newPassword })

layer(
  serverLayer(
    withAdmin({
      adminRegistrationToken: Option.some(Redacted.make(REGISTRATION_TOKEN)),
      sessionIdleMinutes: 120,
      trustProxy: ["127.0.0.1"]
    })
  ),
  { timeout: 90_000, excludeTestServices: true }
)("account", (it) => {
  it.effect("a wrong current password is 403 invalid_credentials: the hash and the sessions stay", () =>
    Effect.gen(function* () {
      const server = yield* TestServer
      const { admin, credentials, client } = yield* newAdmin(server.baseUrl)
      const other = yield* loggedIn(server.baseUrl, credentials)
      const before = yield* storedHash(server.sql, admin.id)

      const refused = yield* changePassword(client, "not my password", "a brand new long password")
      assert.strictEqual(expectError(refused, 403, "invalid_credentials"), "the current password is wrong")
      assert.strictEqual(yield* storedHash(server.sql, admin.id), before, "the hash is unchanged")
      assert.strictEqual((yield* other.get("/api/auth/me")).status, 200, "no session was ended")
      assert.strictEqual((yield* client.get("/api/auth/me")).status, 200, "not signed out either")
      expectError(
        yield* makeClient(server.baseUrl).login(credentials.email, "a brand new long password"),
        401,
        "invalid_credentials"
      )
    })
  )

  it.effect("a new password under 12 characters is 400 naming newPassword, and changes nothing", () =>
    Effect.gen(function* () {
      const server = yield* TestServer
      const { admin, credentials, client } = yield* newAdmin(server.baseUrl)
      const before = yield* storedHash(server.sql, admin.id)
      const short = yield* changePassword(client, credentials.password, "11 chars...")
      assert.include(expectError(short, 400, "invalid_request"), "body.newPassword:")
      const missing = yield* client.post("/api/auth/password", { newPassword: "a brand new long password" })
      assert.include(expectError(missing, 400, "invalid_request"), "body.currentPassword:")
      assert.strictEqual(yield* storedHash(server.sql, admin.id), before)
    })
  )

  it.effect(
    "a password change ends my other sessions, keeps this one; the old password no longer logs in",
    () =>
      Effect.gen(function* () {
        const server = yield* TestServer
        const { admin, credentials, client } = yield* newAdmin(server.baseUrl)
        const other = yield* loggedIn(server.baseUrl, credentials)
        const someoneElse = yield* newAdmin(server.baseUrl)
        const newPassword = "my second, longer password"

        const changed = expectBody(
          yield* changePassword(client, credentials.password, newPassword),
          200,
          PasswordChanged
        )
        assert.deepStrictEqual(changed, { otherSessionsEnded: 1 })

        expectError(yield* other.get("/api/auth/me"), 401, "unauthorized")
        assert.strictEqual(expectBody(yield* client.get("/api/auth/me"), 200, AdminView).id, admin.id)
        assert.deepStrictEqual(
          (yield* sessionRows(server.sql, admin.id)).map((row) => row.idHash),
          [sha256(sessionOf(client))],
          "only this session is left"
        )
        assert.strictEqual(
          (yield* someoneElse.client.get("/api/auth/me")).status,
          200,
          "another admin's sessions are not touched"
        )
        expectError(
          yield* makeClient(server.baseUrl).login(credentials.email, credentials.password),
          401,
          "invalid_credentials"
        )
        yield* loggedIn(server.baseUrl, { email: credentials.email, password: newPassword })
      })
  )

  it.effect("wrong current passwords are limited per admin: the 6th try is 429, even the right one", () =>
    Effect.gen(function* () {
      const server = yield* TestServer
      const { admin, credentials, client } = yield* newAdmin(server.baseUrl)
      const before = yield* storedHash(server.sql, admin.id)
      for (let attempt = 1; attempt <= 5; attempt++) {
        expectError(
          yield* changePassword(client, `guess number ${attempt}`, "a brand new long password"),
          403,
          "invalid_credentials"
        )
      }
      const blocked = yield* changePassword(client, credentials.password, "a brand new long password")
      expectError(blocked, 429, "too_many_requests")
      const retryAfter = Number(blocked.headers.get("retry-after"))
      assert.isTrue(retryAfter > 0 && retryAfter <= 15 * 60, `Retry-After: ${retryAfter}`)
      assert.strictEqual(yield* storedHash(server.sql, admin.id), before, "nothing changed")

      // Per admin: another admin's change is not held up.
      const someoneElse = yield* newAdmin(server.baseUrl)
      expectBody(
        yield* changePassword(someoneElse.client, someoneElse.credentials.password, "another long password!"),
        200,
        PasswordChanged
      )
    })
  )

  it.effect("GET /api/auth/sessions lists my live sessions with an opaque id, current marked", () =>
    Effect.gen(function* () {
      const server = yield* TestServer
      const { admin, credentials, client } = yield* newAdmin(server.baseUrl)
      const fromPhone = makeClient(server.baseUrl)
      const signedIn = yield* fromPhone.request("POST", "/api/auth/login", {
        json: credentials,
        headers: { "user-agent": "PhoneBrowser/1.0" }
      })
      assert.strictEqual(signedIn.status, 200)
      const someoneElse = yield* newAdmin(server.baseUrl)

      const listed = expectBody(yield* client.get("/api/auth/sessions"), 200, SessionsView).items
      assert.strictEqual(listed.length, 2, "mine only")
      assert.sameMembers(
        listed.map((session) => session.clientAddress === "127.0.0.1"),
        [true, false],
        "each session keeps the address it signed in from"
      )
      const rows = yield* sessionRows(server.sql, admin.id)
      assert.sameMembers(
        listed.map((session) => session.id),
        rows.map((row) => row.id)
      )
      const secrets = [sessionOf(client), sessionOf(fromPhone)]
      for (const session of listed) {
        assert.isTrue(Schema.is(Schema.String.check(Schema.isUUID()))(session.id))
        assert.notInclude(
          [...secrets, ...secrets.map(sha256)],
          session.id,
          "the id is not the secret or its hash"
        )
        // The registration came through the trusted proxy for 198.51.100.x; the phone's login straight from 127.0.0.1.
        assert.match(session.clientAddress ?? "", /^(198\.51\.100\.\d+|127\.0\.0\.1)$/)
        assert.isAbove(Date.parse(session.expiresAt), Date.now() + 6 * 24 * 3600_000)
        assert.isAtMost(Date.parse(session.createdAt), Date.now())
      }
      // Newest first: the phone signed in last.
      assert.strictEqual(listed[0]!.userAgent, "PhoneBrowser/1.0")
      assert.deepStrictEqual(
        listed.map((session) => session.current),
        [false, true]
      )
      const fromThePhone = expectBody(yield* fromPhone.get("/api/auth/sessions"), 200, SessionsView).items
      assert.deepStrictEqual(
        fromThePhone.map((session) => session.current),
        [true, false]
      )
      const theirs = expectBody(yield* someoneElse.client.get("/api/auth/sessions"), 200, SessionsView).items
      assert.strictEqual(theirs.length, 1)
      assert.notInclude(
        listed.map((session) => session.id),
        theirs[0]!.id
      )

      // The listed id is no credential.
      for (const name of ["botfleet_session", "__Host-botfleet_session"]) {
        const withId = yield* makeClient(server.baseUrl).get("/api/auth/me", {
          headers: { cookie: `${name}=${listed[0]!.id}` }
        })
        expectError(withId, 401, "unauthorized")
      }
    })
  )

  it.effect("DELETE /api/auth/sessions/:id ends one of my sessions: that one is 401, mine lives on", () =>
    Effect.gen(function* () {
      const server = yield* TestServer
      const { admin, credentials, client } = yield* newAdmin(server.baseUrl)
      const other = yield* loggedIn(server.baseUrl, credentials)
      const listed = expectBody(yield* client.get("/api/auth/sessions"), 200, SessionsView).items
      const target = listed.find((session) => !session.current)!

      assert.strictEqual((yield* client.delete(`/api/auth/sessions/${target.id}`)).status, 204)
      expectError(yield* other.get("/api/auth/me"), 401, "unauthorized")
      assert.strictEqual((yield* client.get("/api/auth/me")).status, 200)
      assert.deepStrictEqual(
        (yield* sessionRows(server.sql, admin.id)).map((row) => row.idHash),
        [sha256(sessionOf(client))]
      )
      expectError(yield* client.delete(`/api/auth/sessions/${target.id}`), 404, "session_not_found")
      expectError(yield* client.delete(`/api/auth/sessions/${unknownId}`), 404, "session_not_found")
      const malformed = yield* client.delete("/api/auth/sessions/not-a-uuid")
      assert.strictEqual(malformed.status, 400)
    })
  )

  it.effect("ending another admin's session is 404 and ends nothing", () =>
    Effect.gen(function* () {
      const server = yield* TestServer
      const victim = yield* newAdmin(server.baseUrl)
      const attacker = yield* newAdmin(server.baseUrl)
      const [victimSession] = yield* sessionRows(server.sql, victim.admin.id)

      const attempt = yield* attacker.client.delete(`/api/auth/sessions/${victimSession!.id}`)
      expectError(attempt, 404, "session_not_found")
      assert.strictEqual(
        (yield* victim.client.get("/api/auth/me")).status,
        200,
        "the victim is still signed in"
      )
      assert.deepStrictEqual(
        (yield* sessionRows(server.sql, victim.admin.id)).map((row) => row.id),
        [victimSession!.id],
        "the row is still there"
      )
      assert.strictEqual((yield* attacker.client.get("/api/auth/me")).status, 200)
    })
  )

  it.effect("a session unused for SESSION_IDLE_MINUTES is refused with 401 and deleted", () =>
    Effect.gen(function* () {
      const server = yield* TestServer
      const { admin, client } = yield* newAdmin(server.baseUrl)
      const [row] = yield* sessionRows(server.sql, admin.id)
      yield* server.sql`
        UPDATE admin_sessions SET last_seen_at = now() - interval '121 minutes' WHERE id = ${row!.id}`.pipe(
        Effect.orDie
      )
      expectError(yield* client.get("/api/auth/me"), 401, "unauthorized")
      assert.deepStrictEqual(yield* sessionRows(server.sql, admin.id), [], "the idle session is deleted")
    })
  )

  it.effect(
    "a session used within the idle time lives on; last_seen_at is written at most once a minute",
    () =>
      Effect.gen(function* () {
        const server = yield* TestServer
        const { admin, client } = yield* newAdmin(server.baseUrl)
        const [row] = yield* sessionRows(server.sql, admin.id)
        const setLastSeen = (at: Date) =>
          server.sql`UPDATE admin_sessions SET last_seen_at = ${at} WHERE id = ${row!.id}`.pipe(Effect.orDie)
        const lastSeen = Effect.map(sessionRows(server.sql, admin.id), (rows) =>
          rows[0]!.lastSeenAt.getTime()
        )

        // Seen 30 s ago: used again, nothing is written.
        const recently = new Date(Date.now() - 30_000)
        yield* setLastSeen(recently)
        assert.strictEqual((yield* client.get("/api/auth/me")).status, 200)
        assert.strictEqual(yield* lastSeen, recently.getTime(), "not rewritten within a minute")

        // Seen 119 minutes ago: still live, and the use is recorded.
        yield* setLastSeen(new Date(Date.now() - 119 * 60_000))
        const before = Date.now()
        assert.strictEqual((yield* client.get("/api/auth/me")).status, 200)
        assert.isAtLeast(yield* lastSeen, before - 1_000, "last_seen_at moved to now")
      })
  )

  it.effect("an idle session is not listed", () =>
    Effect.gen(function* () {
      const server = yield* TestServer
      const { admin, credentials, client } = yield* newAdmin(server.baseUrl)
      yield* loggedIn(server.baseUrl, credentials)
      const rows = yield* sessionRows(server.sql, admin.id)
      const current = sha256(sessionOf(client))
      const idle = rows.find((row) => row.idHash !== current)!
      yield* server.sql`
        UPDATE admin_sessions SET last_seen_at = now() - interval '3 hours' WHERE id = ${idle.id}`.pipe(
        Effect.orDie
      )
      const listed = expectBody(yield* client.get("/api/auth/sessions"), 200, SessionsView).items
      assert.deepStrictEqual(
        listed.map((session) => [session.id, session.current]),
        [[rows.find((row) => row.idHash === current)!.id, true]]
      )
    })
  )
})

layer(serverLayer(withAdmin({ sessionIdleMinutes: 5, trustProxy: ["127.0.0.1"] })), {
  timeout: 60_000,
  excludeTestServices: true
})("SESSION_IDLE_MINUTES=5", (it) => {
  it.effect("the configured idle time is the one applied: 4 minutes unused is fine, 6 is signed out", () =>
    Effect.gen(function* () {
      const server = yield* TestServer
      const client = yield* loggedIn(server.baseUrl)
      const idHash = sha256(sessionOf(client))
      const unusedFor = (minutes: number) =>
        server.sql`
            UPDATE admin_sessions SET last_seen_at = ${new Date(Date.now() - minutes * 60_000)}
            WHERE id_hash = ${idHash}`.pipe(Effect.orDie)
      yield* unusedFor(4)
      assert.strictEqual((yield* client.get("/api/auth/me")).status, 200)
      yield* unusedFor(6)
      expectError(yield* client.get("/api/auth/me"), 401, "unauthorized")
    })
  )
})
