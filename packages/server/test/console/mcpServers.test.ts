/**
 * MCP servers in the console, in a real browser (headless Chromium) against
 * the real server and a real MCP server (FakeMcpServer): a refused header is
 * shown and nothing stored; then the server is added and tested, its tools
 * listed, one allowed, the connection tested again, and a delete refused
 * while a bot has the server attached. Then a server attached to a bot by
 * name in the bot form, and the tool call the model asks for (FakeOpenAI)
 * seen in the chat's transcript.
 */
import { FakeMcpServer } from "@botfleet/testing"
import { assert, layer } from "@effect/vitest"
import { Effect, Schema } from "effect"
import { McpServerView } from "../../src/api/mcpServerSchemas.ts"
import { BotView, ChatView, page as pageOf } from "../../src/api/schemas.ts"
import { ADMIN, expectBody, loggedIn, withAdmin } from "../support/apiClient.ts"
import { browserContext, screenshot, watchProblems } from "../support/browser.ts"
import {
  eventually,
  postUpdate,
  layer as serverLayer,
  TestServer,
  telegramBot,
  textUpdate
} from "../support/inProcessServer.ts"

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

    it.effect(
      "attach a server to a bot by name, then see the model's tool call in the chat's transcript",
      () =>
        Effect.gen(function* () {
          const server = yield* TestServer
          const api = yield* loggedIn(server.baseUrl)
          const mcp = yield* FakeMcpServer.make()
          const browser = yield* browserContext
          const page = yield* step(() => browser.newPage())
          const problems = watchProblems(page)
          const { bot } = yield* server.addBot("Shop")

          yield* step(async () => {
            await page.goto(`${server.baseUrl}/admin/sign-in`)
            await page.getByLabel("Email").fill(ADMIN.email)
            await page.getByLabel("Password").fill(ADMIN.password)
            await page.getByRole("button", { name: "Sign in" }).click()
            await page.getByRole("heading", { name: "Bots", level: 1 }).waitFor()
            await page.getByRole("navigation").getByRole("link", { name: "MCP servers" }).click()
            await page.getByLabel("Name").fill("Shop tools")
            await page.getByLabel("URL").fill(mcp.url)
            await page.getByRole("button", { name: "Add and test the connection" }).click()
            await page.getByRole("heading", { name: "Shop tools", level: 1 }).waitFor()
            await page.getByLabel("Allow lookup_order").check()
            await page.getByText("lookup_order allowed").first().waitFor()

            await page.goto(`${server.baseUrl}/admin/bots/${bot.id}`)
            const picks = page.getByRole("group", { name: "MCP servers" })
            await picks.getByLabel("Shop tools").check()
            await page.getByRole("button", { name: "Save changes" }).click()
            await page.getByText("Saved", { exact: true }).first().waitFor()
            // Drawn again from the saved bot: the box stays ticked.
            assert.isTrue(
              await page.getByRole("group", { name: "MCP servers" }).getByLabel("Shop tools").isChecked()
            )
          })
          yield* screenshot(page, "bot-mcp-servers", {
            element: page.locator(".field", { has: page.getByRole("group", { name: "MCP servers" }) })
          })
          const servers = expectBody(yield* api.get("/api/mcp-servers"), 200, Schema.Array(McpServerView))
          const shopTools = servers.find((one) => one.name === "Shop tools")!
          const attached = expectBody(yield* api.get(`/api/bots/${bot.id}`), 200, BotView)
          assert.deepStrictEqual<ReadonlyArray<string>>(attached.mcpServerIds, [shopTools.id])

          const question = "where is order 42?"
          yield* server.openai.setReply((request) => {
            const tools = request.messages.filter((message) => message.role === "tool")
            if (tools.length === 0)
              return { content: null, toolCalls: [{ name: "lookup_order", arguments: { number: "42" } }] }
            return `Here it is: ${tools[0]!.content}`
          })
          const chatId = 98_101
          assert.strictEqual(
            (yield* postUpdate(server.baseUrl, bot, textUpdate(chatId, question))).status,
            200
          )
          yield* eventually(() => server.telegram.sentTo(chatId).length > 0)
          assert.deepStrictEqual(yield* mcp.toolCalls, [
            { name: "lookup_order", arguments: { number: "42" } }
          ])
          const chats = expectBody(yield* api.get(`/api/chats?botId=${bot.id}`), 200, pageOf(ChatView))

          yield* step(async () => {
            await page.goto(`${server.baseUrl}/admin/chats/${chats.items[0]!.id}`)
            const calls = page.locator("details.tool-calls")
            await calls.getByText("1 tool call").click()
            const call = calls.locator("li.tool-call")
            await call.waitFor()
            const text = (await call.textContent()) ?? ""
            assert.include(text, `lookup_order({"number":"42"})`)
            assert.include(text, "done")
            assert.include(text, "Order 42 has shipped")
          })
          yield* screenshot(page, "chat-tool-call")
          assert.deepStrictEqual(problems, [], JSON.stringify(problems))
        }).pipe(Effect.scoped),
      90_000
    )
  }
)
