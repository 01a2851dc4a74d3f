/**
 * No admin route answers without a session: every endpoint of the contract
 * (read from `Api` itself, so a new route is covered the day it is added)
 * is 401 with the contract's error body, except login and register.
 */
import { assert, layer } from "@effect/vitest"
import { Effect } from "effect"
import { HttpApi } from "effect/http-api"
import { Api } from "../../src/api/Api.ts"
import { expectError, makeClient, unknownId, withAdmin } from "../support/apiClient.ts"
import { layer as serverLayer, TestServer } from "../support/inProcessServer.ts"

interface Route {
  readonly name: string
  readonly method: string
  readonly path: string
}

const contractRoutes = (): ReadonlyArray<Route> => {
  const routes: Array<Route> = []
  HttpApi.reflect(Api, {
    onGroup: () => {},
    onEndpoint: ({ group, endpoint }) =>
      routes.push({
        name: `${group.identifier}.${endpoint.identifier}`,
        method: endpoint.method,
        path: endpoint.path
      })
  })
  return routes
}

// Mini App routes authenticate with initData and a bearer token instead (webapp.test.ts).
// First-run setup works before any admin exists: its token is the credential (firstRun.test.ts).
// Accepting an invitation: the one-time token is the credential (roles.test.ts).
const OPEN = new Set([
  "auth.login",
  "auth.register",
  "webapp.session",
  "webapp.me",
  "setup.status",
  "setup.complete",
  "invitations.accept"
])

/** A concrete URL for a route: ids filled in, no trailing slash. */
const urlOf = (route: Route) => route.path.replace(/:id\b/g, unknownId).replace(/(.)\/$/, "$1")

layer(serverLayer(withAdmin()), { timeout: 60_000, excludeTestServices: true })("session required", (it) => {
  it.effect("the contract has the routes this test is meant to cover", () =>
    Effect.sync(() => {
      const routes = contractRoutes().map((route) => `${route.method} ${urlOf(route)}`)
      for (const expected of [
        "POST /api/auth/logout",
        "GET /api/auth/me",
        "GET /api/bots",
        "POST /api/bots",
        `GET /api/bots/${unknownId}`,
        `PATCH /api/bots/${unknownId}`,
        `DELETE /api/bots/${unknownId}`,
        `POST /api/bots/${unknownId}/enable`,
        `POST /api/bots/${unknownId}/disable`,
        "GET /api/chats",
        `GET /api/chats/${unknownId}`,
        `GET /api/chats/${unknownId}/messages`,
        `POST /api/chats/${unknownId}/messages`,
        "GET /api/failures",
        `POST /api/messages/${unknownId}/retry`,
        "GET /api/stats",
        // Operations
        "GET /api/jobs",
        `POST /api/failures/${unknownId}/retry`
      ]) {
        assert.include(routes, expected)
      }
    })
  )

  it.effect("every route but login and register is 401 without a session, even with a valid body", () =>
    Effect.gen(function* () {
      const server = yield* TestServer
      const anonymous = makeClient(server.baseUrl)
      const guarded = contractRoutes().filter((route) => !OPEN.has(route.name))
      assert.isAtLeast(guarded.length, 16)
      for (const route of guarded) {
        const withBody = route.method === "POST" || route.method === "PATCH"
        const response = yield* anonymous.request(
          route.method,
          urlOf(route),
          withBody ? { json: { name: "x", token: "1:x", text: "hello" } } : {}
        )
        assert.strictEqual(response.status, 401, `${route.method} ${urlOf(route)}: ${response.text}`)
        expectError(response, 401, "unauthorized")
      }
    })
  )

  it.effect("a made-up cookie is no better than none", () =>
    Effect.gen(function* () {
      const server = yield* TestServer
      const forged = makeClient(server.baseUrl)
      for (const path of ["/api/bots", "/api/chats", "/api/failures", "/api/stats?period=day"]) {
        const response = yield* forged.get(path, {
          headers: { cookie: "botfleet_session=forged-session-id" }
        })
        expectError(response, 401, "unauthorized")
      }
    })
  )

  it.effect("login and register answer without a session", () =>
    Effect.gen(function* () {
      const server = yield* TestServer
      const anonymous = makeClient(server.baseUrl)
      expectError(yield* anonymous.login("nobody@example.com", "whatever it is"), 401, "invalid_credentials")
      const register = yield* anonymous.post("/api/auth/register", {
        email: "new@example.com",
        password: "a long enough password",
        registrationToken: "none configured"
      })
      expectError(register, 403, "registration_refused")
    })
  )
})
