/**
 * providers in the console, in a real browser (headless Chromium)
 * against the real server: add a provider (a refused key shown on its field
 * first), put a bot on it from the bot form, see a delete refused while the bot
 * uses it, move the bot back and delete the provider.
 */
import { FakeOpenAI } from "@botfleet/testing"
import { assert, layer } from "@effect/vitest"
import { Effect, Schema } from "effect"
import { BotView, ProviderView } from "../../src/api/schemas.ts"
import { ADMIN, expectBody, loggedIn, withAdmin } from "../support/apiClient.ts"
import { browserContext, screenshot, watchProblems } from "../support/browser.ts"
import { layer as serverLayer, TestServer, telegramBot } from "../support/inProcessServer.ts"

const step = <A>(run: () => Promise<A>) => Effect.promise(run)

const LOCAL_KEY = "sk-local-console-7e3d5a6f8b0c"

layer(serverLayer(withAdmin()), { timeout: 120_000, excludeTestServices: true })(
  "console: providers",
  (it) => {
    it.effect(
      "add a provider, give a bot to it, see the in-use refusal, move the bot back, delete the provider",
      () =>
        Effect.gen(function* () {
          const server = yield* TestServer
          const api = yield* loggedIn(server.baseUrl)
          const local = yield* FakeOpenAI.make({ apiKey: LOCAL_KEY })
          const bot = expectBody(
            yield* api.post("/api/bots", {
              name: "Helper",
              token: telegramBot(server.telegram, "Helper").token
            }),
            201,
            BotView
          )
          const browser = yield* browserContext
          const page = yield* step(() => browser.newPage())
          const problems = watchProblems(page)

          yield* step(async () => {
            await page.goto(`${server.baseUrl}/admin/sign-in`)
            await page.getByLabel("Email").fill(ADMIN.email)
            await page.getByLabel("Password").fill(ADMIN.password)
            await page.getByRole("button", { name: "Sign in" }).click()
            await page.getByRole("heading", { name: "Bots", level: 1 }).waitFor()
            await page.getByRole("navigation").getByRole("link", { name: "Providers" }).click()
            await page.getByRole("heading", { name: "No providers yet" }).waitFor()
            await page.getByRole("link", { name: "Add a provider" }).first().click()
            await page.getByRole("heading", { name: "Add a provider", level: 1 }).waitFor()
            await page.getByLabel("Name").fill("Local")
            await page.getByLabel("Base URL").fill(local.baseUrl.href)
            await page.getByLabel("API key").fill("sk-wrong-key-000000")
            await page.getByLabel("Default model").fill("llama-local")
            await page.getByLabel("Prices (USD per million tokens)").fill("llama-local=1/2")
            await page.getByRole("button", { name: "Add provider" }).click()
            // The server refused the key: said in place, on the key's field.
            await page.getByRole("alert").filter({ hasText: "invalid_api_key" }).waitFor()
            assert.strictEqual(await page.getByLabel("API key").getAttribute("aria-invalid"), "true")
          })
          assert.deepStrictEqual(
            expectBody(yield* api.get("/api/providers"), 200, Schema.Array(ProviderView)),
            [],
            "nothing stored"
          )
          yield* screenshot(page, "provider-refused-key")

          yield* step(async () => {
            await page.getByLabel("API key").fill(LOCAL_KEY)
            await page.getByRole("button", { name: "Add provider" }).click()
            await page.getByRole("heading", { name: "Providers", level: 1 }).waitFor()
            await page
              .locator("tr", { hasText: "Local" })
              .filter({ hasText: `…${LOCAL_KEY.slice(-4)}` })
              .waitFor()
          })
          yield* screenshot(page, "providers")
          const [provider] = expectBody(yield* api.get("/api/providers"), 200, Schema.Array(ProviderView))
          assert.strictEqual(provider!.defaultModel, "llama-local")
          assert.deepStrictEqual(provider!.prices, { "llama-local": { input: 1, output: 2 } })

          // The bot form: pick the provider, set a temperature.
          yield* step(async () => {
            await page.goto(`${server.baseUrl}/admin/bots/${bot.id}`)
            await page.getByRole("heading", { name: "Helper", level: 1 }).waitFor()
            await page.getByLabel("Provider").selectOption({ label: "Local" })
            await page.getByLabel("Temperature").fill("0.3")
            await page.getByLabel("Longest answer (tokens)").fill("400")
            await page.getByRole("button", { name: "Save changes" }).click()
            await page.getByText("Saved").first().waitFor()
          })
          yield* screenshot(page, "bot-provider")
          const moved = expectBody(yield* api.get(`/api/bots/${bot.id}`), 200, BotView)
          assert.strictEqual(moved.providerId, provider!.id)
          assert.strictEqual(moved.temperature, 0.3)
          assert.strictEqual(moved.maxOutputTokens, 400)
          assert.strictEqual(moved.effectiveModel, "llama-local")

          // Deleting it while the bot uses it: refused, and the page says which bot.
          yield* step(async () => {
            await page.goto(`${server.baseUrl}/admin/providers/${provider!.id}`)
            await page.getByRole("heading", { name: "Local", level: 1 }).waitFor()
            await page.getByRole("button", { name: "Delete provider" }).click()
            await page.getByRole("dialog").getByRole("button", { name: "Delete" }).click()
            const refusal = page.getByRole("alert").filter({ hasText: "provider_in_use" })
            await refusal.waitFor()
            assert.include(await refusal.textContent(), "Helper")
          })
          yield* screenshot(page, "provider-in-use")
          expectBody(yield* api.get(`/api/providers/${provider!.id}`), 200, ProviderView)

          // Back on the server default, the provider goes.
          yield* step(async () => {
            await page.goto(`${server.baseUrl}/admin/bots/${bot.id}`)
            await page.getByRole("heading", { name: "Helper", level: 1 }).waitFor()
            await page.getByLabel("Provider").selectOption({ label: "Server default (OPENAI_BASE_URL)" })
            await page.getByRole("button", { name: "Save changes" }).click()
            await page.getByText("Saved").first().waitFor()
            await page.goto(`${server.baseUrl}/admin/providers/${provider!.id}`)
            await page.getByRole("button", { name: "Delete provider" }).click()
            await page.getByRole("dialog").getByRole("button", { name: "Delete" }).click()
            await page.getByRole("heading", { name: "No providers yet" }).waitFor()
          })
          assert.strictEqual(expectBody(yield* api.get(`/api/bots/${bot.id}`), 200, BotView).providerId, null)
          assert.deepStrictEqual(
            expectBody(yield* api.get("/api/providers"), 200, Schema.Array(ProviderView)),
            []
          )
          assert.deepStrictEqual(problems, [])
        }).pipe(Effect.scoped),
      90_000
    )
  }
)
