/**
 * Roles, invitations and the audit log over real HTTP: a viewer and an
 * operator try what their role does not allow (403 `forbidden`, nothing
 * stored), the last owner cannot be removed or demoted, invitations work
 * once and only in time, and the audit log records who did what from where
 * without a secret in it.
 */
import { createHash } from "node:crypto"
import { FakeOpenAI } from "@botfleet/testing"
import { assert, layer } from "@effect/vitest"
import { Effect, Schema } from "effect"
import { HttpApi } from "effect/http-api"
import { Api } from "../../src/api/Api.ts"
import { Authentication } from "../../src/api/Authentication.ts"
import { allows, requiredRole } from "../../src/api/accessRules.ts"
import { AuditEntryView, InvitationIssuedView } from "../../src/api/adminSchemas.ts"
import { AdminView, BotView } from "../../src/api/schemas.ts"
import {
  ADMIN,
  type ApiClient,
  expectBody,
  expectError,
  loggedIn,
  makeClient,
  unknownId,
  withAdmin
} from "../support/apiClient.ts"
import {
  eventuallyEffect,
  postUpdate,
  layer as serverLayer,
  TestServer,
  textUpdate
} from "../support/inProcessServer.ts"

const PROVIDER_KEY = "sk-roles-provider-7c1e9a4b2d6f8e0a"
const OPERATOR_PASSWORD = "operator password, long enough"
const VIEWER_PASSWORD = "viewer password, long enough"

const AuditPage = Schema.Struct({
  items: Schema.Array(AuditEntryView),
  nextCursor: Schema.NullOr(Schema.String)
})

/** The owner invites; the invitee accepts with a password and logs in. */
const invited = (owner: ApiClient, email: string, role: string, password: string) =>
  Effect.gen(function* () {
    const issued = expectBody(
      yield* owner.post("/api/admins/invitations", { email, role }),
      201,
      InvitationIssuedView
    )
    assert.strictEqual(issued.path, `/admin/invite#${issued.token}`)
    const invitee = makeClient(owner.baseUrl)
    const accepted = expectBody(
      yield* invitee.post("/api/admins/invitations/accept", { token: issued.token, password }),
      201,
      AdminView
    )
    assert.strictEqual(accepted.role, role)
    assert.strictEqual(accepted.email, email)
    const client = yield* loggedIn(owner.baseUrl, { email, password })
    return { client, admin: accepted, token: issued.token }
  })

const countOf = (table: "admins" | "admin_invitations" | "providers" | "messages" | "audit_log") =>
  Effect.gen(function* () {
    const server = yield* TestServer
    const rows = yield* server.sql<{ count: number }>`SELECT count(*)::int AS count FROM ${server.sql(table)}`
    return rows[0]!.count
  }).pipe(Effect.orDie)

interface Route {
  readonly group: string
  readonly name: string
  readonly method: string
  readonly path: string
  readonly authenticated: boolean
}

const contractRoutes = (): ReadonlyArray<Route> => {
  const routes: Array<Route> = []
  HttpApi.reflect(Api, {
    onGroup: () => {},
    onEndpoint: ({ group, endpoint, middleware }) =>
      routes.push({
        group: group.identifier,
        name: `${group.identifier}.${endpoint.identifier}`,
        method: endpoint.method,
        path: endpoint.path,
        authenticated: [...middleware].some((key) => key.key === Authentication.key)
      })
  })
  return routes
}

/** A concrete URL for a route, with ids no row has. */
const urlOf = (route: Route) =>
  route.path
    .replace(/:userId\b/g, "42")
    .replace(/\/failures\/:id\b/g, `/failures/message:${unknownId}`)
    .replace(/:id\b/g, unknownId)
    .replace(/(.)\/$/, "$1")

// What anyone may call without a session, and the signed-in admin's own session and account.
const PUBLIC = new Set([
  "auth.login",
  "auth.register",
  "webapp.session",
  "webapp.me",
  "setup.status",
  "setup.complete",
  "invitations.accept"
])
/** The admin's own session, password and sessions: any role. */
const ownAccount = (route: Route) => route.path.startsWith("/api/auth/")
const body = { name: "x", token: "1:x", text: "hello", email: "x@example.com", role: "owner", apiKey: "k" }

layer(serverLayer(withAdmin()), { timeout: 180_000, excludeTestServices: true })("roles and audit", (it) => {
  it.effect("the first admin is an owner; me says so", () =>
    Effect.gen(function* () {
      const server = yield* TestServer
      const owner = yield* loggedIn(server.baseUrl)
      const me = expectBody(yield* owner.get("/api/auth/me"), 200, AdminView)
      assert.strictEqual(me.role, "owner")
      assert.strictEqual(me.email, ADMIN.email)
    })
  )

  it.effect("every endpoint: a viewer gets 403 for every change, an operator for every owner route", () =>
    Effect.gen(function* () {
      const server = yield* TestServer
      const owner = yield* loggedIn(server.baseUrl)
      const viewer = (yield* invited(owner, "walk-viewer@example.com", "viewer", VIEWER_PASSWORD)).client
      const operator = (yield* invited(owner, "walk-operator@example.com", "operator", OPERATOR_PASSWORD))
        .client
      const routes = contractRoutes()
      // Anything new that is not public must sit behind the session middleware, where the role check is.
      for (const route of routes) {
        if (!PUBLIC.has(route.name)) assert.isTrue(route.authenticated, `${route.name} has no Authentication`)
      }
      const changes = routes.filter(
        (route) => route.method !== "GET" && !PUBLIC.has(route.name) && !ownAccount(route)
      )
      assert.isAtLeast(changes.length, 17)
      const before = yield* countOf("admins")
      for (const route of changes) {
        const response = yield* viewer.request(route.method, urlOf(route), { json: body })
        assert.include(
          expectError(response, 403, "forbidden"),
          "needs the",
          `${route.method} ${urlOf(route)}`
        )
      }
      const ownerOnly = routes.filter(
        (route) =>
          !PUBLIC.has(route.name) && !allows("operator", requiredRole(route.group, route.method, route.path))
      )
      assert.includeMembers(
        ownerOnly.map((route) => route.name),
        ["admins.list", "admins.invite", "admins.update", "admins.remove", "audit.list", "providers.create"]
      )
      for (const route of ownerOnly) {
        const response = yield* operator.request(
          route.method,
          urlOf(route),
          route.method === "GET" ? {} : { json: body }
        )
        assert.include(expectError(response, 403, "forbidden"), "owner", `${route.method} ${urlOf(route)}`)
      }
      // Reads stay open to a viewer.
      assert.strictEqual((yield* viewer.get("/api/bots")).status, 200)
      assert.strictEqual((yield* viewer.get("/api/chats")).status, 200)
      assert.strictEqual(before, yield* countOf("admins"))
      // Their own session is theirs whatever the role.
      assert.strictEqual((yield* viewer.get("/api/auth/me")).status, 200)
      assert.strictEqual((yield* viewer.post("/api/auth/logout")).status, 204)
      expectError(yield* viewer.get("/api/bots"), 401, "unauthorized")
    })
  )

  it.effect(
    "a viewer's writes are refused and change nothing; an operator runs bots but not owner things",
    () =>
      Effect.scoped(
        Effect.gen(function* () {
          const server = yield* TestServer
          const started = new Date().toISOString()
          const owner = yield* loggedIn(server.baseUrl)
          const { bot, token } = yield* server.addBot("Roles Shop")
          // A chat to answer in: a user writes to the bot.
          assert.strictEqual(
            (yield* postUpdate(server.baseUrl, bot, textUpdate(77_001, "hello"))).status,
            200
          )
          const chatId = yield* eventuallyEffect(
            Effect.map(
              server.sql<{ id: string }>`SELECT id FROM chats WHERE bot_id = ${bot.id}`.pipe(Effect.orDie),
              (rows) => rows[0]?.id
            )
          )
          const provider = yield* FakeOpenAI.make({ apiKey: PROVIDER_KEY })
          const providerBody = { name: "Roles local", baseUrl: provider.baseUrl.href, apiKey: PROVIDER_KEY }

          const viewer = (yield* invited(owner, "viewer@example.com", "viewer", VIEWER_PASSWORD)).client
          const operator = yield* invited(owner, "operator@example.com", "operator", OPERATOR_PASSWORD)
          const me = expectBody(yield* viewer.get("/api/auth/me"), 200, AdminView)
          assert.strictEqual(me.role, "viewer")

          const messagesBefore = yield* countOf("messages")
          const counts = Effect.all([countOf("admins"), countOf("admin_invitations"), countOf("providers")])
          const stored = yield* counts
          const viewerTries = [
            yield* viewer.post(`/api/bots/${bot.id}/disable`),
            yield* viewer.patch(`/api/bots/${bot.id}`, { systemPrompt: "hijacked" }),
            yield* viewer.post(`/api/chats/${chatId}/messages`, { text: "as the bot" }),
            yield* viewer.post("/api/providers", providerBody),
            yield* viewer.post("/api/admins/invitations", { email: "friend@example.com", role: "owner" }),
            yield* viewer.post(`/api/bots/${bot.id}/users/77001/block`)
          ]
          for (const response of viewerTries)
            assert.include(expectError(response, 403, "forbidden"), "you are viewer")
          const afterViewer = expectBody(yield* owner.get(`/api/bots/${bot.id}`), 200, BotView)
          assert.isTrue(afterViewer.active)
          assert.notStrictEqual(afterViewer.systemPrompt, "hijacked")
          assert.deepStrictEqual(afterViewer.blockedUserIds, [])
          assert.strictEqual(yield* countOf("messages"), messagesBefore)
          assert.deepStrictEqual(yield* counts, stored)

          // The operator: owner things refused, nothing stored...
          const operatorTries = [
            yield* operator.client.post("/api/providers", providerBody),
            yield* operator.client.post("/api/admins/invitations", {
              email: "friend@example.com",
              role: "viewer"
            }),
            yield* operator.client.patch(`/api/admins/${operator.admin.id}`, { role: "owner" }),
            yield* operator.client.delete(`/api/admins/${me.id}`),
            yield* operator.client.get("/api/admins"),
            yield* operator.client.get("/api/audit")
          ]
          for (const response of operatorTries)
            assert.include(expectError(response, 403, "forbidden"), "owner")
          assert.deepStrictEqual(yield* counts, stored)
          const operatorNow = expectBody(yield* operator.client.get("/api/auth/me"), 200, AdminView)
          assert.strictEqual(operatorNow.role, "operator")

          // ...but bots and chats are theirs.
          const disabled = expectBody(
            yield* operator.client.post(`/api/bots/${bot.id}/disable`),
            200,
            BotView
          )
          assert.isFalse(disabled.active)
          assert.strictEqual(
            (yield* operator.client.post(`/api/chats/${chatId}/messages`, { text: "hi from ops" })).status,
            202
          )

          // The owner may create the provider; the audit log has it all, from this address, and no secret.
          assert.strictEqual((yield* owner.post("/api/providers", providerBody)).status, 201)
          const log = expectBody(yield* owner.get(`/api/audit?objectId=${bot.id}`), 200, AuditPage)
          const disable = log.items.find((entry) => entry.action === "bot.disable" && entry.outcome === "ok")
          assert.isDefined(disable)
          assert.strictEqual(disable?.adminId, operator.admin.id)
          assert.strictEqual(disable?.adminEmail, "operator@example.com")
          assert.strictEqual(disable?.address, "127.0.0.1")
          const refused = log.items.filter((entry) => entry.outcome === "refused" && entry.adminId === me.id)
          assert.includeMembers(
            refused.map((entry) => entry.action),
            ["bot.disable", "bot.update"]
          )
          const byAction = expectBody(
            yield* owner.get(`/api/audit?action=provider.create&from=${started}`),
            200,
            AuditPage
          )
          assert.deepStrictEqual(
            byAction.items.map((entry) => [entry.outcome, entry.adminEmail]),
            [
              ["ok", ADMIN.email],
              ["refused", "operator@example.com"],
              ["refused", "viewer@example.com"]
            ]
          )
          const chatSend = expectBody(
            yield* owner.get(`/api/audit?action=chat.send&adminId=${operator.admin.id}`),
            200,
            AuditPage
          )
          assert.deepStrictEqual(
            chatSend.items.map((entry) => [entry.objectId, entry.outcome]),
            [[chatId, "ok"]]
          )

          const everything = yield* server.sql<{
            row: string
          }>`SELECT row_to_json(audit_log)::text AS row FROM audit_log`.pipe(Effect.orDie)
          const text = everything.map((row) => row.row).join("\n")
          for (const secret of [
            token,
            PROVIDER_KEY,
            ADMIN.password,
            OPERATOR_PASSWORD,
            VIEWER_PASSWORD,
            operator.token
          ]) {
            assert.notInclude(text, secret)
          }
          const invitationRows = yield* server.sql<{
            row: string
          }>`SELECT row_to_json(admin_invitations)::text AS row FROM admin_invitations`.pipe(Effect.orDie)
          assert.notInclude(invitationRows.map((row) => row.row).join("\n"), operator.token)
        })
      )
  )

  it.effect("sign-ins are recorded, refused ones too, never with the password", () =>
    Effect.gen(function* () {
      const server = yield* TestServer
      const started = new Date().toISOString()
      const wrongPassword = "a wrong guess 5b1d9e"
      const guesser = makeClient(server.baseUrl)
      expectError(yield* guesser.login(ADMIN.email, wrongPassword), 401, "invalid_credentials")
      expectError(yield* guesser.login("nobody@example.com", wrongPassword), 401, "invalid_credentials")
      const owner = yield* loggedIn(server.baseUrl)
      const me = expectBody(yield* owner.get("/api/auth/me"), 200, AdminView)
      const registerToken = "a registration token nobody configured"
      const register = yield* guesser.post("/api/auth/register", {
        email: "intruder@example.com",
        password: wrongPassword,
        registrationToken: registerToken
      })
      expectError(register, 403, "registration_refused")
      const setupToken = "a made-up setup link token"
      const setup = yield* guesser.post("/api/setup", {
        token: setupToken,
        email: "squatter@example.com",
        password: wrongPassword
      })
      expectError(setup, 403, "already_set_up")
      const log = expectBody(yield* owner.get(`/api/audit?from=${started}`), 200, AuditPage)
      assert.deepStrictEqual(
        log.items.map((entry) => [
          entry.action,
          entry.outcome,
          entry.adminEmail,
          entry.adminId,
          entry.objectId
        ]),
        [
          ["admin.setup", "refused", "squatter@example.com", null, null],
          ["admin.register", "refused", "intruder@example.com", null, null],
          ["session.login", "ok", ADMIN.email, me.id, me.id],
          ["session.login", "refused", "nobody@example.com", null, null],
          ["session.login", "refused", ADMIN.email, null, me.id]
        ]
      )
      for (const entry of log.items) assert.strictEqual(entry.address, "127.0.0.1")
      const rows = yield* server.sql<{
        row: string
      }>`SELECT row_to_json(audit_log)::text AS row FROM audit_log`.pipe(Effect.orDie)
      const text = rows.map((row) => row.row).join("\n")
      for (const secret of [wrongPassword, ADMIN.password, registerToken, setupToken])
        assert.notInclude(text, secret)
    })
  )

  it.effect("the audit log pages with a cursor and filters by time; a made-up cursor is 400", () =>
    Effect.gen(function* () {
      const server = yield* TestServer
      const owner = yield* loggedIn(server.baseUrl)
      const all = expectBody(yield* owner.get("/api/audit?limit=200"), 200, AuditPage)
      assert.isAtLeast(all.items.length, 3)
      const first = expectBody(yield* owner.get("/api/audit?limit=2"), 200, AuditPage)
      assert.strictEqual(first.items.length, 2)
      assert.isNotNull(first.nextCursor)
      const second = expectBody(
        yield* owner.get(`/api/audit?limit=2&cursor=${first.nextCursor}`),
        200,
        AuditPage
      )
      assert.deepStrictEqual(
        [...first.items, ...second.items].map((entry) => entry.id),
        all.items.slice(0, 4).map((entry) => entry.id)
      )
      expectError(yield* owner.get("/api/audit?cursor=not-a-cursor"), 400, "invalid_cursor")
      expectError(yield* owner.get("/api/audit?from=yesterday"), 400, "invalid_request")
      const future = expectBody(yield* owner.get("/api/audit?from=2999-01-01T00:00:00Z"), 200, AuditPage)
      assert.deepStrictEqual(future.items, [])
      const past = expectBody(yield* owner.get("/api/audit?to=2000-01-01T00:00:00Z"), 200, AuditPage)
      assert.deepStrictEqual(past.items, [])
    })
  )

  it.effect("an invitation works once, only in time; a made-up one creates nobody", () =>
    Effect.gen(function* () {
      const server = yield* TestServer
      const owner = yield* loggedIn(server.baseUrl)
      const anonymous = makeClient(server.baseUrl)
      const { token } = yield* invited(owner, "once@example.com", "viewer", VIEWER_PASSWORD)
      const admins = yield* countOf("admins")

      const again = yield* anonymous.post("/api/admins/invitations/accept", {
        token,
        password: "another long password"
      })
      expectError(again, 400, "invitation_invalid")
      const madeUp = yield* anonymous.post("/api/admins/invitations/accept", {
        token: "x".repeat(43),
        password: "another long password"
      })
      expectError(madeUp, 400, "invitation_invalid")

      const late = expectBody(
        yield* owner.post("/api/admins/invitations", { email: "late@example.com", role: "operator" }),
        201,
        InvitationIssuedView
      )
      const hash = createHash("sha256").update(late.token).digest("hex")
      yield* server.sql`UPDATE admin_invitations SET expires_at = now() - interval '1 second' WHERE token_hash = ${hash}`.pipe(
        Effect.orDie
      )
      const expired = yield* anonymous.post("/api/admins/invitations/accept", {
        token: late.token,
        password: "another long password"
      })
      expectError(expired, 400, "invitation_invalid")
      const short = yield* anonymous.post("/api/admins/invitations/accept", {
        token: late.token,
        password: "short"
      })
      expectError(short, 400, "invalid_request")
      assert.strictEqual(yield* countOf("admins"), admins)
      expectError(
        yield* anonymous.login("late@example.com", "another long password"),
        401,
        "invalid_credentials"
      )

      // Inviting someone who already is an admin: 409.
      expectError(
        yield* owner.post("/api/admins/invitations", { email: "ONCE@example.com", role: "owner" }),
        409,
        "email_taken"
      )
    })
  )

  it.effect("the last owner can be neither removed nor demoted; a removed admin is signed out", () =>
    Effect.gen(function* () {
      const server = yield* TestServer
      const owner = yield* loggedIn(server.baseUrl)
      const me = expectBody(yield* owner.get("/api/auth/me"), 200, AdminView)
      const owners = () =>
        Effect.map(
          server.sql<{ count: number }>`SELECT count(*)::int AS count FROM admins WHERE role = 'owner'`.pipe(
            Effect.orDie
          ),
          (rows) => rows[0]!.count
        )
      assert.strictEqual(yield* owners(), 1)
      assert.include(
        expectError(yield* owner.patch(`/api/admins/${me.id}`, { role: "operator" }), 409, "last_owner"),
        "last owner"
      )
      expectError(yield* owner.delete(`/api/admins/${me.id}`), 409, "last_owner")
      assert.strictEqual(expectBody(yield* owner.get("/api/auth/me"), 200, AdminView).role, "owner")
      expectError(yield* owner.patch(`/api/admins/${unknownId}`, { role: "viewer" }), 404, "not_found")
      expectError(yield* owner.patch(`/api/admins/${me.id}`, { role: "admin" }), 400, "invalid_request")

      // A second owner: now either may step down, but not both.
      const second = yield* invited(owner, "second-owner@example.com", "owner", OPERATOR_PASSWORD)
      const demoted = expectBody(
        yield* owner.patch(`/api/admins/${me.id}`, { role: "operator" }),
        200,
        AdminView
      )
      assert.strictEqual(demoted.role, "operator")
      expectError(
        yield* second.client.patch(`/api/admins/${second.admin.id}`, { role: "viewer" }),
        409,
        "last_owner"
      )
      // The demotion holds at once, on the same session.
      expectError(yield* owner.get("/api/admins"), 403, "forbidden")
      assert.strictEqual(
        expectBody(yield* second.client.patch(`/api/admins/${me.id}`, { role: "owner" }), 200, AdminView)
          .role,
        "owner"
      )

      // Removing an admin ends their sessions.
      const leaving = yield* invited(owner, "leaving@example.com", "operator", OPERATOR_PASSWORD)
      assert.strictEqual((yield* leaving.client.get("/api/bots")).status, 200)
      assert.strictEqual((yield* owner.delete(`/api/admins/${leaving.admin.id}`)).status, 204)
      expectError(yield* leaving.client.get("/api/bots"), 401, "unauthorized")
      expectError(yield* leaving.client.delete(`/api/admins/${leaving.admin.id}`), 401, "unauthorized")
      const listed = expectBody(yield* owner.get("/api/admins"), 200, Schema.Array(AdminView))
      assert.notInclude(
        listed.map((admin) => admin.email),
        "leaving@example.com"
      )
      const removal = expectBody(
        yield* owner.get(`/api/audit?action=admin.remove&objectId=${leaving.admin.id}`),
        200,
        AuditPage
      )
      assert.strictEqual(removal.items.length, 1)
      assert.strictEqual(removal.items[0]?.adminId, me.id)
    })
  )
})
