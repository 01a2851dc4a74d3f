/**
 * The session cookie's name and attributes under COOKIE_SECURE: with `auto`
 * it is Secure (and named `__Host-botfleet_session`) when PUBLIC_URL is https
 * or a TRUST_PROXY proxy says the sign-in came over https; a client that is
 * not a trusted proxy cannot claim https. Every reader accepts either name.
 */
import { assert, layer } from "@effect/vitest"
import { Effect, Option } from "effect"
import { SessionsView } from "../../src/api/accountSchemas.ts"
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

const PLAIN = "botfleet_session"
const HOST = "__Host-botfleet_session"
const HTTPS_PUBLIC_URL = Option.some(new URL("https://bots.example"))

interface SetCookie {
  readonly name: string
  readonly value: string
  readonly attributes: ReadonlyArray<string>
}

/** The session cookies a response sets, whichever name they have. */
const sessionCookiesSet = (response: ApiResponse): ReadonlyArray<SetCookie> =>
  response.headers.getSetCookie().flatMap((line) => {
    const [pair = "", ...attributes] = line.split(";")
    const separator = pair.indexOf("=")
    const name = pair.slice(0, separator).trim()
    if (name !== PLAIN && name !== HOST) return []
    return [
      {
        name,
        value: pair.slice(separator + 1).trim(),
        attributes: attributes.map((part) => part.trim().toLowerCase())
      }
    ]
  })

/** Logs in (optionally with headers a proxy adds) and returns the one session cookie set. */
const signIn = (baseUrl: string, headers: Record<string, string> = {}) =>
  Effect.gen(function* () {
    const response = yield* makeClient(baseUrl).request("POST", "/api/auth/login", {
      json: { email: ADMIN.email, password: ADMIN.password },
      headers
    })
    expectBody(response, 200, AdminView)
    const cookies = sessionCookiesSet(response)
    assert.strictEqual(cookies.length, 1, response.headers.getSetCookie().join(" | "))
    return cookies[0]!
  })

const assertSecureHostCookie = (cookie: SetCookie) => {
  assert.strictEqual(cookie.name, HOST)
  assert.include(cookie.attributes, "secure")
  assert.include(cookie.attributes, "path=/")
  assert.include(cookie.attributes, "httponly")
  assert.include(cookie.attributes, "samesite=lax")
  assert.isFalse(
    cookie.attributes.some((attribute) => attribute.startsWith("domain=")),
    "a __Host- cookie has no Domain"
  )
}

const assertPlainCookie = (cookie: SetCookie) => {
  assert.strictEqual(cookie.name, PLAIN)
  assert.notInclude(cookie.attributes, "secure")
  assert.include(cookie.attributes, "path=/")
  assert.include(cookie.attributes, "httponly")
  assert.include(cookie.attributes, "samesite=lax")
}

const me = (baseUrl: string, cookie: string) =>
  makeClient(baseUrl).get("/api/auth/me", { headers: { cookie } })

layer(serverLayer(withAdmin({ publicUrl: HTTPS_PUBLIC_URL })), {
  timeout: 60_000,
  excludeTestServices: true
})("COOKIE_SECURE=auto with an https PUBLIC_URL", (it) => {
  it.effect("the cookie is __Host-botfleet_session: Secure, Path=/, no Domain, HttpOnly, SameSite=Lax", () =>
    Effect.gen(function* () {
      const server = yield* TestServer
      assertSecureHostCookie(yield* signIn(server.baseUrl))
    })
  )

  it.effect("every reader takes the __Host- cookie: the session check, the rate limit, logout", () =>
    Effect.gen(function* () {
      const server = yield* TestServer
      const cookie = yield* signIn(server.baseUrl)
      const header = `${HOST}=${cookie.value}`
      assert.strictEqual(expectBody(yield* me(server.baseUrl, header), 200, AdminView).email, ADMIN.email)
      // The rate limit counts this session, not the address: requests without a cookie from the
      // same address have a count of their own (they would share one if the cookie were not read).
      const first = Number((yield* me(server.baseUrl, header)).headers.get("x-ratelimit-remaining"))
      const second = Number((yield* me(server.baseUrl, header)).headers.get("x-ratelimit-remaining"))
      assert.strictEqual(second, first - 1)
      const anonymous = yield* makeClient(server.baseUrl).get("/api/auth/me")
      assert.isAbove(Number(anonymous.headers.get("x-ratelimit-remaining")), second)

      const logout = yield* makeClient(server.baseUrl).post("/api/auth/logout", undefined, {
        headers: { cookie: header }
      })
      assert.strictEqual(logout.status, 204)
      const cleared = sessionCookiesSet(logout)
      assert.deepStrictEqual(
        cleared.map((c) => c.name),
        [HOST]
      )
      // A browser deletes a __Host- cookie only when the deleting Set-Cookie is Secure with Path=/ too.
      assert.include(cleared[0]!.attributes, "secure")
      assert.include(cleared[0]!.attributes, "path=/")
      assert.isTrue(
        cleared[0]!.attributes.some((a) => a === "max-age=0" || a.startsWith("expires=thu, 01 jan 1970"))
      )
      expectError(yield* me(server.baseUrl, header), 401, "unauthorized")
    })
  )
})

layer(serverLayer(withAdmin({ publicUrl: Option.none(), trustProxy: ["127.0.0.1"] })), {
  timeout: 60_000,
  excludeTestServices: true
})("COOKIE_SECURE=auto, polling (no PUBLIC_URL), behind a trusted proxy", (it) => {
  it.effect("the proxy's X-Forwarded-Proto: https makes the cookie Secure and __Host-", () =>
    Effect.gen(function* () {
      const server = yield* TestServer
      const cookie = yield* signIn(server.baseUrl, { "x-forwarded-proto": "https" })
      assertSecureHostCookie(cookie)
      assert.strictEqual((yield* me(server.baseUrl, `${HOST}=${cookie.value}`)).status, 200)
    })
  )

  it.effect("X-Forwarded-Proto: http, or none, gives the plain cookie", () =>
    Effect.gen(function* () {
      const server = yield* TestServer
      assertPlainCookie(yield* signIn(server.baseUrl, { "x-forwarded-proto": "http" }))
      const cookie = yield* signIn(server.baseUrl)
      assertPlainCookie(cookie)
      assert.strictEqual((yield* me(server.baseUrl, `${PLAIN}=${cookie.value}`)).status, 200)
    })
  )
})

layer(serverLayer(withAdmin({ publicUrl: Option.none(), trustProxy: ["10.9.9.9"] })), {
  timeout: 60_000,
  excludeTestServices: true
})("COOKIE_SECURE=auto, the client is not a trusted proxy", (it) => {
  it.effect("its X-Forwarded-Proto: https is ignored: the plain cookie", () =>
    Effect.gen(function* () {
      const server = yield* TestServer
      assertPlainCookie(yield* signIn(server.baseUrl, { "x-forwarded-proto": "https" }))
    })
  )
})

layer(serverLayer(withAdmin({ cookieSecure: "true" })), { timeout: 60_000, excludeTestServices: true })(
  "COOKIE_SECURE=true with an http PUBLIC_URL",
  (it) => {
    it.effect("the cookie is Secure and __Host- whatever the URL", () =>
      Effect.gen(function* () {
        const server = yield* TestServer
        assertSecureHostCookie(yield* signIn(server.baseUrl))
      })
    )

    it.effect("a session under the plain name (set before COOKIE_SECURE changed) is still accepted", () =>
      Effect.gen(function* () {
        const server = yield* TestServer
        const cookie = yield* signIn(server.baseUrl)
        assert.strictEqual((yield* me(server.baseUrl, `${PLAIN}=${cookie.value}`)).status, 200)
        // Logging in again replaces it: the old name is cleared as the new one is set.
        const relogin = yield* makeClient(server.baseUrl).request("POST", "/api/auth/login", {
          json: { email: ADMIN.email, password: ADMIN.password },
          headers: { cookie: `${PLAIN}=${cookie.value}` }
        })
        const set = sessionCookiesSet(relogin)
        assert.deepStrictEqual(set.map((c) => [c.name, c.attributes.includes("max-age=0")]).sort(), [
          [HOST, false],
          [PLAIN, true]
        ])
      })
    )
  }
)

layer(serverLayer(withAdmin({ cookieSecure: "true" })), { timeout: 60_000, excludeTestServices: true })(
  "both names at once",
  (it) => {
    it.effect("a dead __Host- cookie beside a live plain one: the live one is the session, and current", () =>
      Effect.gen(function* () {
        const server = yield* TestServer
        const live = yield* signIn(server.baseUrl)
        const header = `${HOST}=long-gone-session-secret-of-43-characters-xx; ${PLAIN}=${live.value}`
        assert.strictEqual(expectBody(yield* me(server.baseUrl, header), 200, AdminView).email, ADMIN.email)
        const listed = expectBody(
          yield* makeClient(server.baseUrl).get("/api/auth/sessions", { headers: { cookie: header } }),
          200,
          SessionsView
        ).items
        assert.deepStrictEqual(
          listed.map((session) => session.current),
          [true],
          "the live cookie's session is the current one"
        )
      })
    )
  }
)

layer(
  serverLayer(withAdmin({ cookieSecure: "false", publicUrl: HTTPS_PUBLIC_URL, trustProxy: ["127.0.0.1"] })),
  { timeout: 60_000, excludeTestServices: true }
)("COOKIE_SECURE=false", (it) => {
  it.effect("the cookie is plain even with an https PUBLIC_URL and a trusted proxy saying https", () =>
    Effect.gen(function* () {
      const server = yield* TestServer
      assertPlainCookie(yield* signIn(server.baseUrl, { "x-forwarded-proto": "https" }))
    })
  )
})
