/**
 * Knowledge bases in the console, in a real browser (headless Chromium)
 * against the real server: create a knowledge base, upload a document, see it
 * indexed (the page refreshes while it waits), ask the search box a question
 * and see the passage with its section; a file of another format is refused
 * in place. Then rename the base in its settings form and attach it to a bot
 * by name in the bot form.
 */
import { assert, layer } from "@effect/vitest"
import { Effect, Schema } from "effect"
import { DocumentView, KnowledgeBaseView } from "../../src/api/knowledgeSchemas.ts"
import { BotView } from "../../src/api/schemas.ts"
import { ADMIN, expectBody, loggedIn, withAdmin } from "../support/apiClient.ts"
import { browserContext, screenshot, watchProblems } from "../support/browser.ts"
import { layer as serverLayer, TestServer } from "../support/inProcessServer.ts"

const step = <A>(run: () => Promise<A>) => Effect.promise(run)

const MANUAL = `# Kettle manual

## Descaling

Descale the kettle every month with citric acid, then rinse twice.

## Warranty

The warranty lasts two years from the date of purchase.
`

layer(serverLayer(withAdmin()), { timeout: 120_000, excludeTestServices: true })(
  "console: knowledge",
  (it) => {
    it.effect(
      "create a knowledge base, upload a document, see it indexed, search it, rename it, attach it",
      () =>
        Effect.gen(function* () {
          const server = yield* TestServer
          const api = yield* loggedIn(server.baseUrl)
          const browser = yield* browserContext
          const page = yield* step(() => browser.newPage())
          const problems = watchProblems(page)

          yield* step(async () => {
            await page.goto(`${server.baseUrl}/admin/sign-in`)
            await page.getByLabel("Email").fill(ADMIN.email)
            await page.getByLabel("Password").fill(ADMIN.password)
            await page.getByRole("button", { name: "Sign in" }).click()
            await page.getByRole("heading", { name: "Bots", level: 1 }).waitFor()
            await page.getByRole("navigation").getByRole("link", { name: "Knowledge" }).click()
            await page.getByRole("heading", { name: "No knowledge bases yet" }).waitFor()
            await page.getByLabel("Name").fill("Kettle")
            await page.getByLabel("Language").selectOption("english")
            await page.getByLabel("Embedding model").fill("fake-embedding")
            await page.getByRole("button", { name: "Add knowledge base" }).click()
            await page.getByRole("heading", { name: "Kettle", level: 1 }).waitFor()
            await page.getByRole("heading", { name: "No documents yet" }).waitFor()
          })
          const [base] = expectBody(
            yield* api.get("/api/knowledge-bases"),
            200,
            Schema.Array(KnowledgeBaseView)
          )
          assert.strictEqual(base?.language, "english")
          assert.strictEqual(base?.embedding.model, "fake-embedding")

          yield* step(async () => {
            // Another format is refused where it was chosen, and nothing is listed.
            await page.getByLabel("File").setInputFiles({
              name: "photo.png",
              mimeType: "image/png",
              buffer: Buffer.from([137, 80, 78, 71])
            })
            await page.getByRole("button", { name: "Upload" }).click()
            await page.getByRole("alert").filter({ hasText: "unsupported_format" }).waitFor()

            await page
              .getByLabel("File")
              .setInputFiles({ name: "manual.md", mimeType: "text/markdown", buffer: Buffer.from(MANUAL) })
            await page.getByRole("button", { name: "Upload" }).click()
            // Pending first, then indexed: the page looks again by itself while it waits.
            await page
              .locator("tr", { hasText: "manual.md" })
              .filter({ hasText: "indexed" })
              .waitFor({ timeout: 30_000 })
          })
          yield* screenshot(page, "knowledge-documents")

          yield* step(async () => {
            await page.getByLabel("Question").fill("How long is the warranty?")
            await page.getByRole("button", { name: "Search" }).click()
            const first = page.locator("[data-passage='1']")
            await first.waitFor()
            const text = (await first.textContent()) ?? ""
            assert.include(text, "manual.md")
            assert.include(text, "Kettle manual › Warranty")
            assert.include(text, "two years")
          })
          yield* screenshot(page, "knowledge-search")

          // A new name alone is saved without indexing anything again.
          yield* step(async () => {
            const settings = page.getByRole("form", { name: "Knowledge base settings" })
            await settings.getByLabel("Base name").fill("Kettle manuals")
            await settings.getByRole("button", { name: "Save settings" }).click()
            await page.getByRole("heading", { name: "Kettle manuals", level: 1 }).waitFor()
          })
          const renamed = expectBody(
            yield* api.get(`/api/knowledge-bases/${base!.id}`),
            200,
            KnowledgeBaseView
          )
          assert.strictEqual(renamed.name, "Kettle manuals")
          assert.strictEqual(renamed.language, "english")
          assert.deepStrictEqual(renamed.chunking, base!.chunking)
          assert.strictEqual(renamed.embedding.model, "fake-embedding")
          const documents = expectBody(
            yield* api.get(`/api/knowledge-bases/${base!.id}/documents`),
            200,
            Schema.Array(DocumentView)
          )
          assert.deepStrictEqual(
            documents.map((document) => document.state),
            ["indexed"]
          )
          yield* screenshot(page, "knowledge-settings", {
            element: page.getByRole("form", { name: "Knowledge base settings" })
          })

          const { bot } = yield* server.addBot("Kettle help")
          yield* step(async () => {
            await page.goto(`${server.baseUrl}/admin/bots/${bot.id}`)
            await page.getByRole("group", { name: "Knowledge bases" }).getByLabel("Kettle manuals").check()
            await page.getByRole("button", { name: "Save changes" }).click()
            await page.getByText("Saved", { exact: true }).first().waitFor()
          })
          const attached = expectBody(yield* api.get(`/api/bots/${bot.id}`), 200, BotView)
          assert.deepStrictEqual<ReadonlyArray<string>>(attached.knowledgeBaseIds, [base!.id])
          assert.deepStrictEqual(problems, [])
        })
    )
  }
)
