/**
 * MCP servers over HTTP, on the real server, PostgreSQL and a real MCP
 * server (effect/ai McpServer, FakeMcpServer): create (the server is asked
 * for its tools first), read, allow tools, refresh, edit and delete; every
 * refused case with its status and nothing stored; headers encrypted, shown
 * as hints and in no response, row or audit entry; owners write, viewers read.
 */
import { FakeMcpServer } from "@botfleet/testing"
import { assert, layer } from "@effect/vitest"
import { Effect, Schema } from "effect"
import { AuditEntryView } from "../../src/api/adminSchemas.ts"
import { McpServerView } from "../../src/api/mcpServerSchemas.ts"
import { BotView } from "../../src/api/schemas.ts"
import { expectBody, expectError, loggedIn, makeClient, unknownId, withAdmin } from "../support/apiClient.ts"
import { layer as serverLayer, TestServer } from "../support/inProcessServer.ts"
import { freePort } from "../support/serverProcess.ts"

const BEARER = "Bearer mcp-token-5d1e8c2a9f7b3e4d"

const rows = Effect.gen(function* () {
  const server = yield* TestServer
  return yield* server.sql<{
    name: string
    url: string
    headers_ciphertext: string | null
    allowed_tools: unknown
  }>`SELECT name, url, headers_ciphertext, allowed_tools FROM mcp_servers ORDER BY name`.pipe(Effect.orDie)
})

const AuditPage = Schema.Struct({
  items: Schema.Array(AuditEntryView),
  nextCursor: Schema.NullOr(Schema.String)
})

layer(serverLayer(withAdmin()), { timeout: 120_000, excludeTestServices: true })("MCP servers API", (it) => {
  it.effect(
    "create, allow tools, refresh, edit and delete, with every bad case refused and nothing stored",
    () =>
      Effect.scoped(
        Effect.gen(function* () {
          const server = yield* TestServer
          const api = yield* loggedIn(server.baseUrl)
          const mcp = yield* FakeMcpServer.make({ requiredHeaders: { authorization: BEARER } })
          const valid = { name: "Orders", url: mcp.url, headers: { Authorization: BEARER } }

          // Malformed input: 400 naming the field.
          for (const url of ["ftp://127.0.0.1/mcp", "not a url", "http://user:pw@127.0.0.1/mcp"]) {
            assert.include(
              expectError(yield* api.post("/api/mcp-servers", { ...valid, url }), 400, "invalid_request"),
              "body.url"
            )
          }
          for (const headers of [{ Host: "x" }, { "Bad Name": "x" }, { Authorization: "line\nbreak" }]) {
            assert.include(
              expectError(yield* api.post("/api/mcp-servers", { ...valid, headers }), 400, "invalid_request"),
              "body.headers"
            )
          }
          const timeout = yield* api.post("/api/mcp-servers", { ...valid, timeoutSeconds: 0 })
          assert.include(expectError(timeout, 400, "invalid_request"), "body.timeoutSeconds")

          // Metadata and link-local addresses are never asked: 422, nothing stored.
          for (const url of ["http://169.254.169.254/mcp", "http://[fe80::1]/mcp", "http://0xa9fea9fe/mcp"]) {
            const refused = yield* api.post("/api/mcp-servers", { ...valid, url })
            assert.include(expectError(refused, 422, "url_not_allowed"), "url:")
          }
          // Nobody there, or a refused header: 503, nothing stored.
          const closedPort = yield* Effect.promise(freePort)
          const nobody = yield* api.post("/api/mcp-servers", {
            ...valid,
            url: `http://127.0.0.1:${closedPort}/mcp`
          })
          assert.notInclude(expectError(nobody, 503, "mcp_server_unreachable"), "ECONNREFUSED")
          assert.strictEqual(nobody.headers.get("retry-after"), "30")
          const wrongToken = yield* api.post("/api/mcp-servers", {
            ...valid,
            headers: { Authorization: "Bearer no" }
          })
          assert.include(expectError(wrongToken, 422, "headers_refused"), "401")
          // A tool the server does not list cannot be allowed.
          const unknownTool = yield* api.post("/api/mcp-servers", { ...valid, allowedTools: ["drop_tables"] })
          assert.include(expectError(unknownTool, 422, "unknown_tool"), "drop_tables")
          assert.deepStrictEqual(yield* rows, [])

          // Created: the server was asked for its tools; headers kept encrypted, shown as hints.
          const response = yield* api.post("/api/mcp-servers", { ...valid, allowedTools: ["lookup_order"] })
          const created = expectBody(response, 201, McpServerView)
          assert.strictEqual(response.headers.get("location"), `/api/mcp-servers/${created.id}`)
          assert.deepStrictEqual(created.headerHints, { Authorization: `…${BEARER.slice(-4)}` })
          assert.strictEqual(created.timeoutSeconds, 30)
          assert.deepStrictEqual(
            created.tools.map((tool) => [tool.name, tool.allowed]),
            [
              ["lookup_order", true],
              ["broken_tool", false],
              ["slow_tool", false]
            ]
          )
          assert.isNotNull(created.toolsRefreshedAt)
          assert.notInclude(response.text, "mcp-token")
          const [row] = yield* rows
          assert.notInclude(row!.headers_ciphertext!, "mcp-token")
          assert.deepStrictEqual(row!.allowed_tools, ["lookup_order"])

          expectError(yield* api.post("/api/mcp-servers", { ...valid, name: "ORDERS" }), 409, "name_taken")
          const listed = expectBody(yield* api.get("/api/mcp-servers"), 200, Schema.Array(McpServerView))
          assert.deepStrictEqual(listed, [created])
          assert.deepStrictEqual(
            expectBody(yield* api.get(`/api/mcp-servers/${created.id}`), 200, McpServerView),
            created
          )

          // Unknown ids: 404; not an id: 400.
          expectError(yield* api.get(`/api/mcp-servers/${unknownId}`), 404, "mcp_server_not_found")
          expectError(
            yield* api.patch(`/api/mcp-servers/${unknownId}`, { name: "X" }),
            404,
            "mcp_server_not_found"
          )
          expectError(
            yield* api.post(`/api/mcp-servers/${unknownId}/refresh`, {}),
            404,
            "mcp_server_not_found"
          )
          expectError(yield* api.delete(`/api/mcp-servers/${unknownId}`), 404, "mcp_server_not_found")
          assert.include(
            expectError(yield* api.get("/api/mcp-servers/nope"), 400, "invalid_request"),
            "path.id"
          )

          // Allowing and denying tools; an unknown one changes nothing.
          const before = yield* rows
          expectError(
            yield* api.patch(`/api/mcp-servers/${created.id}`, { allowedTools: ["lookup_order", "nope"] }),
            422,
            "unknown_tool"
          )
          // The stored headers go only to their own server: a new URL needs its headers.
          const moved = yield* api.patch(`/api/mcp-servers/${created.id}`, { url: "http://127.0.0.1:1/mcp" })
          expectError(moved, 422, "headers_required")
          const metadataMove = yield* api.patch(`/api/mcp-servers/${created.id}`, {
            url: "http://169.254.169.254/mcp",
            headers: {}
          })
          expectError(metadataMove, 422, "url_not_allowed")
          assert.deepStrictEqual(yield* rows, before)
          const allowed = expectBody(
            yield* api.patch(`/api/mcp-servers/${created.id}`, {
              allowedTools: ["lookup_order", "broken_tool"],
              timeoutSeconds: 10
            }),
            200,
            McpServerView
          )
          assert.deepStrictEqual(allowed.allowedTools, ["lookup_order", "broken_tool"])
          assert.strictEqual(allowed.timeoutSeconds, 10)
          assert.deepStrictEqual(allowed.headerHints, created.headerHints)

          // Refresh asks the server again with the stored (decrypted) headers.
          const asked = (yield* mcp.requests).length
          const refreshed = expectBody(
            yield* api.post(`/api/mcp-servers/${created.id}/refresh`, {}),
            200,
            McpServerView
          )
          assert.isAbove((yield* mcp.requests).length, asked)
          for (const request of (yield* mcp.requests).slice(asked)) {
            assert.strictEqual(request.headers.authorization, BEARER)
          }
          assert.deepStrictEqual(refreshed.allowedTools, allowed.allowedTools)
          assert.strictEqual(refreshed.tools.length, 3)

          // A bot attaches stored servers only; one in use cannot be deleted.
          const { bot } = yield* server.addBot("Tooled")
          const unknownServer = yield* api.patch(`/api/bots/${bot.id}`, {
            mcpServerIds: [created.id, unknownId]
          })
          assert.include(expectError(unknownServer, 422, "unknown_mcp_server"), unknownId)
          assert.deepStrictEqual(
            expectBody(yield* api.get(`/api/bots/${bot.id}`), 200, BotView).mcpServerIds,
            []
          )
          const notAnId = yield* api.patch(`/api/bots/${bot.id}`, { mcpServerIds: ["nope"] })
          assert.include(expectError(notAnId, 400, "invalid_request"), "body.mcpServerIds")
          const attached = expectBody(
            yield* api.patch(`/api/bots/${bot.id}`, { mcpServerIds: [created.id] }),
            200,
            BotView
          )
          assert.deepStrictEqual<ReadonlyArray<string>>(attached.mcpServerIds, [created.id])
          const inUse = yield* api.delete(`/api/mcp-servers/${created.id}`)
          assert.include(expectError(inUse, 409, "mcp_server_in_use"), "Tooled")
          expectBody(yield* api.get(`/api/mcp-servers/${created.id}`), 200, McpServerView)
          expectBody(yield* api.patch(`/api/bots/${bot.id}`, { mcpServerIds: [] }), 200, BotView)

          // Gone.
          assert.strictEqual((yield* api.delete(`/api/mcp-servers/${created.id}`)).status, 204)
          expectError(yield* api.get(`/api/mcp-servers/${created.id}`), 404, "mcp_server_not_found")
          assert.deepStrictEqual(yield* rows, [])

          // The audit log names the server and holds no header value.
          const audit = expectBody(yield* api.get("/api/audit?action=mcp_server.create"), 200, AuditPage)
          assert.isTrue(audit.items.some((entry) => entry.outcome === "ok" && entry.objectId === created.id))
          const everything = yield* server.sql<{
            row: string
          }>`SELECT row_to_json(audit_log)::text AS row FROM audit_log`.pipe(Effect.orDie)
          assert.notInclude(everything.map((entry) => entry.row).join("\n"), "mcp-token")
        })
      )
  )

  it.effect("a viewer reads but cannot add; an operator cannot add either", () =>
    Effect.scoped(
      Effect.gen(function* () {
        const server = yield* TestServer
        const owner = yield* loggedIn(server.baseUrl)
        const mcp = yield* FakeMcpServer.make()
        for (const [email, role] of [
          ["mcp-viewer@example.com", "viewer"],
          ["mcp-operator@example.com", "operator"]
        ] as const) {
          const issued = (yield* owner.post("/api/admins/invitations", { email, role })).body as {
            token: string
          }
          const password = `${role} password, long enough`
          const accepted = yield* makeClient(server.baseUrl).post("/api/admins/invitations/accept", {
            token: issued.token,
            password
          })
          assert.strictEqual(accepted.status, 201, accepted.text)
          const client = yield* loggedIn(server.baseUrl, { email, password })
          assert.strictEqual((yield* client.get("/api/mcp-servers")).status, 200)
          const refused = yield* client.post("/api/mcp-servers", { name: `By ${role}`, url: mcp.url })
          assert.include(expectError(refused, 403, "forbidden"), "owner")
        }
        assert.deepStrictEqual(yield* mcp.requests, [])
        assert.isFalse((yield* rows).some((row) => row.name.startsWith("By ")))
      })
    )
  )
})
