/**
 * CORS only for the origins in CORS_ORIGINS, with credentials; none at all
 * without it (Mini App origins, WEBAPP_ORIGINS: webapp.test.ts). The session cookie follows PUBLIC_URL: Secure over https, and
 * SameSite=None only when a dashboard on another origin needs it.
 */
import { assert, layer } from "@effect/vitest"
import { Effect, Option } from "effect"
import { BotView } from "../../src/api/schemas.ts"
import { ADMIN, type ApiResponse, expectBody, loggedIn, makeClient, withAdmin } from "../support/apiClient.ts"
import { layer as serverLayer, TestServer } from "../support/inProcessServer.ts"

const DASHBOARD = "https://admin.example"
const OPS = "https://ops.example"
const STRANGER = "https://evil.example"
const HTTPS_PUBLIC_URL = Option.some(new URL("https://bots.example"))

const fromOrigin = (baseUrl: string, origin: string) =>
  makeClient(baseUrl).get("/api/auth/me", { headers: { origin } })

/** What a browser asks before a credentialed PATCH with a JSON body. */
const preflight = (baseUrl: string, origin: string) =>
  makeClient(baseUrl).request("OPTIONS", "/api/bots/6f1c7a38-6b1e-4c55-9a53-3f4d2b6f0a11", {
    headers: {
      origin,
      "access-control-request-method": "PATCH",
      "access-control-request-headers": "content-type"
    }
  })

const corsHeaders = (response: ApiResponse) =>
  [...response.headers.keys()].filter((name) => name.startsWith("access-control-"))

const sessionCookieAttributes = (response: ApiResponse) =>
  (response.headers.getSetCookie().find((line) => line.startsWith("botfleet_session=")) ?? "")
    .split(";")
    .slice(1)
    .map((part) => part.trim().toLowerCase())

layer(serverLayer(withAdmin({ corsOrigins: [DASHBOARD], publicUrl: HTTPS_PUBLIC_URL })), {
  timeout: 60_000,
  excludeTestServices: true
})("CORS with one origin (and an https PUBLIC_URL)", (it) => {
  it.effect("the configured origin is allowed with credentials, on requests and preflights", () =>
    Effect.gen(function* () {
      const server = yield* TestServer
      const response = yield* fromOrigin(server.baseUrl, DASHBOARD)
      assert.strictEqual(response.status, 401)
      assert.strictEqual(response.headers.get("access-control-allow-origin"), DASHBOARD)
      assert.strictEqual(response.headers.get("access-control-allow-credentials"), "true")

      const asked = yield* preflight(server.baseUrl, DASHBOARD)
      assert.isBelow(asked.status, 300)
      assert.strictEqual(asked.headers.get("access-control-allow-origin"), DASHBOARD)
      assert.strictEqual(asked.headers.get("access-control-allow-credentials"), "true")
      assert.include(asked.headers.get("access-control-allow-methods") ?? "", "PATCH")
      assert.include((asked.headers.get("access-control-allow-headers") ?? "").toLowerCase(), "content-type")
    })
  )

  it.effect("another origin is never allowed: no allow-origin naming it, no wildcard", () =>
    Effect.gen(function* () {
      const server = yield* TestServer
      for (const response of [
        yield* fromOrigin(server.baseUrl, STRANGER),
        yield* preflight(server.baseUrl, STRANGER)
      ]) {
        const allowed = response.headers.get("access-control-allow-origin")
        assert.notStrictEqual(allowed, STRANGER)
        assert.notStrictEqual(allowed, "*")
      }
    })
  )

  // A single configured origin is matched per request, never sent to every caller.
  it.effect("another origin gets no CORS header at all, on requests and preflights", () =>
    Effect.gen(function* () {
      const server = yield* TestServer
      for (const response of [
        yield* fromOrigin(server.baseUrl, STRANGER),
        yield* preflight(server.baseUrl, STRANGER)
      ]) {
        assert.deepStrictEqual(corsHeaders(response), [])
      }
    })
  )

  // With SameSite=None any site can make the browser POST here with the admin's cookie, and a
  // body-less POST (enable, disable, retry, logout) needs no preflight: the origin check refuses
  // it (pathSpellings.test.ts tries every spelling of every such route).
  it.effect("a state-changing request from another origin is refused even with the session cookie", () =>
    Effect.gen(function* () {
      const server = yield* TestServer
      const api = yield* loggedIn(server.baseUrl)
      const { bot } = yield* server.addBot("Target")
      // What a hidden <form method="post"> on the stranger's page sends.
      const forged = yield* api.request("POST", `/api/bots/${bot.id}/disable`, {
        raw: "",
        headers: { origin: STRANGER, "content-type": "application/x-www-form-urlencoded" }
      })
      assert.strictEqual(forged.status, 403)
      const after = expectBody(yield* api.get(`/api/bots/${bot.id}`), 200, BotView)
      assert.isTrue(after.active, "still enabled")
    })
  )

  it.effect("over https the session cookie is Secure and SameSite=None, so the dashboard can send it", () =>
    Effect.gen(function* () {
      const server = yield* TestServer
      const response = yield* makeClient(server.baseUrl).login(ADMIN.email, ADMIN.password)
      assert.strictEqual(response.status, 200)
      const attributes = sessionCookieAttributes(response)
      assert.include(attributes, "secure")
      assert.include(attributes, "samesite=none")
      assert.include(attributes, "httponly")
    })
  )
})

layer(serverLayer(withAdmin({ corsOrigins: [DASHBOARD, OPS] })), {
  timeout: 60_000,
  excludeTestServices: true
})("CORS with two origins", (it) => {
  it.effect("each configured origin is allowed as itself; another gets no allow header", () =>
    Effect.gen(function* () {
      const server = yield* TestServer
      for (const origin of [DASHBOARD, OPS]) {
        const response = yield* fromOrigin(server.baseUrl, origin)
        assert.strictEqual(response.headers.get("access-control-allow-origin"), origin)
        assert.strictEqual(response.headers.get("access-control-allow-credentials"), "true")
      }
      const stranger = yield* fromOrigin(server.baseUrl, STRANGER)
      assert.isNull(stranger.headers.get("access-control-allow-origin"))
      const asked = yield* preflight(server.baseUrl, STRANGER)
      assert.isNull(asked.headers.get("access-control-allow-origin"))
    })
  )
})

layer(serverLayer(withAdmin({ publicUrl: HTTPS_PUBLIC_URL })), {
  timeout: 60_000,
  excludeTestServices: true
})("no CORS_ORIGINS (and an https PUBLIC_URL)", (it) => {
  it.effect("no CORS headers at all, whatever the origin", () =>
    Effect.gen(function* () {
      const server = yield* TestServer
      for (const origin of [DASHBOARD, STRANGER]) {
        assert.deepStrictEqual(corsHeaders(yield* fromOrigin(server.baseUrl, origin)), [])
        assert.deepStrictEqual(corsHeaders(yield* preflight(server.baseUrl, origin)), [])
      }
    })
  )

  it.effect("over https the session cookie is Secure and stays SameSite=Lax", () =>
    Effect.gen(function* () {
      const server = yield* TestServer
      const response = yield* makeClient(server.baseUrl).login(ADMIN.email, ADMIN.password)
      assert.strictEqual(response.status, 200)
      const attributes = sessionCookieAttributes(response)
      assert.include(attributes, "secure")
      assert.include(attributes, "samesite=lax")
      assert.include(attributes, "httponly")
    })
  )
})
