/**
 * MCP servers in the console, in a real browser (headless Chromium) against
 * the real server and a real MCP server (FakeMcpServer): a refused header is
 * shown and nothing stored; then the server is added and tested, its tools
 * listed, one allowed, the connection tested again, and a delete refused
 * while a bot has the server attached.
 */
import { FakeMcpServer } from "@botfleet/testing"
import { assert, layer } from "@effect/vitest"
import { Effect, Schema } from "effect"
import { McpServerView } from "../../src/api/mcpServerSchemas.ts"
import { BotView } from "../../src/api/schemas.ts"
import { ADMIN, expectBody, loggedIn, withAdmin } from "../support/apiClient.ts"
import { browserContext, screenshot, watchProblems } from "../support/browser.ts"
import { layer as serverLayer, TestServer, telegramBot } from "../support/inProcessServer.ts"

const step = <A>(run: () => Promise<A>) => Effect.promise(run)

const BEARER = "Bearer console-mcp-token-4e7a1b"

layer(serverLayer(withAdmin()), { timeout: 120_000, excludeTestServices: true })(
  "console: MCP servers",
  (it) => {
    it.effect(
      "add a server (a refused header first), list its tools, allow one, test the connection, see the in-use refusal",
      () =>
        Effect.gen(function* () {
          const server = yield* TestServer
          const api = yield* loggedIn(server.baseUrl)
          const mcp = yield* FakeMcpServer.make({ requiredHeaders: { authorization: BEARER } })
          const browser = yield* browserContext
          const page = yield* step(() => browser.newPage())
          const problems = watchProblems(page)

          yield* step(async () => {
            await page.goto(`${server.baseUrl}/admin/sign-in`)
            await page.getByLabel("Email").fill(ADMIN.email)
            await page.getByLabel("Password").fill(ADMIN.password)
            await page.getByRole("button", { name: "Sign in" }).click()
            await page.getByRole("heading", { name: "Bots", level: 1 }).waitFor()
            await page.getByRole("navigation").getByRole("link", { name: "MCP servers" }).click()
            await page.getByRole("heading", { name: "No MCP servers yet" }).waitFor()
            await page.getByLabel("Name").fill("Orders")
            await page.getByLabel("URL").fill(mcp.url)
            await page.getByLabel("Headers").fill("Authorization: Bearer wrong")
            await page.getByRole("button", { name: "Add and test the connection" }).click()
            await page.getByRole("alert").filter({ hasText: "headers_refused" }).waitFor()
          })
          assert.deepStrictEqual(
            expectBody(yield* api.get("/api/mcp-servers"), 200, Schema.Array(McpServerView)),
            []
          )
          yield* screenshot(page, "mcp-refused-header")

          yield* step(async () => {
            await page.getByLabel("Headers").fill(`Authorization: ${BEARER}`)
            await page.getByRole("button", { name: "Add and test the connection" }).click()
            await page.getByRole("heading", { name: "Orders", level: 1 }).waitFor()
            for (const name of FakeMcpServer.TOOL_NAMES) await page.locator("tr", { hasText: name }).waitFor()
            await page.getByLabel("Allow lookup_order").check()
            await page.getByText("lookup_order allowed").first().waitFor()
          })
          yield* screenshot(page, "mcp-server-tools")
          const [stored] = expectBody(yield* api.get("/api/mcp-servers"), 200, Schema.Array(McpServerView))
          assert.deepStrictEqual(stored!.allowedTools, ["lookup_order"])
          assert.deepStrictEqual(stored!.headerHints, { Authorization: `…${BEARER.slice(-4)}` })

          // Testing the connection asks the server again.
          const asked = (yield* mcp.requests).length
          yield* step(async () => {
            await page.getByRole("button", { name: "Test the connection" }).click()
            await page.getByText("Connected: 3 tools").first().waitFor()
          })
          assert.isAbove((yield* mcp.requests).length, asked)

          // Attached to a bot, it cannot be deleted; the refusal names the bot.
          const bot = expectBody(
            yield* api.post("/api/bots", {
              name: "Support",
              token: telegramBot(server.telegram, "Support").token,
              mcpServerIds: [stored!.id]
            }),
            201,
            BotView
          )
          assert.deepStrictEqual<ReadonlyArray<string>>(bot.mcpServerIds, [stored!.id])
          yield* step(async () => {
            await page.getByRole("button", { name: "Delete server" }).click()
            await page.getByRole("dialog").getByRole("button", { name: "Delete" }).click()
            const refusal = page.getByRole("alert").filter({ hasText: "mcp_server_in_use" })
            await refusal.waitFor()
            assert.include(await refusal.textContent(), "Support")
          })
          expectBody(yield* api.get(`/api/mcp-servers/${stored!.id}`), 200, McpServerView)
          assert.deepStrictEqual(problems, [], JSON.stringify(problems))
        }).pipe(Effect.scoped),
      90_000
    )
  }
)
