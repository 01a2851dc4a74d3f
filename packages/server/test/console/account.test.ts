/**
 * The console's Account page in a real browser (headless Chromium) against the
 * real server: the admin sees where they are signed in, ends one session, and
 * changes the password, which signs out every other session but this browser's.
 */
import { assert, layer } from "@effect/vitest"
import { Effect } from "effect"
import { SessionsView } from "../../src/api/accountSchemas.ts"
import {
  ADMIN,
  type ApiClient,
  expectBody,
  expectError,
  makeClient,
  withAdmin
} from "../support/apiClient.ts"
import { browserContext, type Page, screenshot, watchProblems } from "../support/browser.ts"
import { layer as serverLayer, TestServer } from "../support/inProcessServer.ts"

const step = <A>(run: () => Promise<A>) => Effect.promise(run)

/** A script signed in as the first admin, recognisable by its user agent in the sessions list. */
const scriptSession = (baseUrl: string, userAgent: string) =>
  Effect.gen(function* () {
    const client = makeClient(baseUrl)
    const response = yield* client.request("POST", "/api/auth/login", {
      json: { email: ADMIN.email, password: ADMIN.password },
      headers: { "user-agent": userAgent }
    })
    assert.strictEqual(response.status, 200, response.text)
    return client
  })

const sessionRows = (page: Page) => page.locator("tr[data-session]")

const signedIn = (client: ApiClient) => Effect.map(client.get("/api/auth/me"), (r) => r.status)

layer(serverLayer(withAdmin()), { timeout: 120_000, excludeTestServices: true })("console: account", (it) => {
  it.effect(
    "list sessions, end another one, change the password: the others are signed out, this one stays",
    () =>
      Effect.gen(function* () {
        const server = yield* TestServer
        const laptop = yield* scriptSession(server.baseUrl, "Laptop Script/1.0")
        const phone = yield* scriptSession(server.baseUrl, "Phone Script/2.0")
        const browser = yield* browserContext
        const page = yield* step(() => browser.newPage())
        const problems = watchProblems(page)
        const newPassword = "a new password for the console test"

        yield* step(async () => {
          await page.goto(`${server.baseUrl}/admin/sign-in`)
          await page.getByLabel("Email").fill(ADMIN.email)
          await page.getByLabel("Password").fill(ADMIN.password)
          await page.getByRole("button", { name: "Sign in" }).click()
          await page.getByRole("heading", { name: "Bots", level: 1 }).waitFor()
          await page.getByRole("link", { name: "Account" }).click()
          await page.getByRole("heading", { name: "Account", level: 1 }).waitFor()
          await sessionRows(page).nth(2).waitFor()
        })
        assert.strictEqual(yield* step(() => sessionRows(page).count()), 3)
        assert.strictEqual(
          yield* step(() => page.locator("tr[data-session]", { hasText: "This browser" }).count()),
          1,
          "this browser's session is marked and has no End button"
        )
        yield* screenshot(page, "account")

        // End the laptop's session from the list.
        yield* step(async () => {
          await page.getByRole("button", { name: /End the session from .*Laptop Script/ }).click()
          await page.getByRole("dialog").getByRole("button", { name: "End session" }).click()
          await page.getByText("Session ended").waitFor()
          await page.locator("tr[data-session]", { hasText: "Laptop Script" }).waitFor({ state: "detached" })
        })
        assert.strictEqual(yield* signedIn(laptop), 401, "the ended session is signed out")
        assert.strictEqual(yield* signedIn(phone), 200, "the others are not")

        // A wrong current password is refused in place.
        yield* step(async () => {
          await page.getByLabel("Current password").fill("not the password")
          await page.getByLabel("New password", { exact: true }).fill(newPassword)
          await page.getByLabel("Repeat the new password").fill(newPassword)
          await page.getByRole("button", { name: "Change password" }).click()
          await page.getByRole("alert").filter({ hasText: "The current password is wrong" }).waitFor()
        })
        assert.strictEqual(yield* signedIn(phone), 200)

        // The right one: the phone is signed out, this browser stays.
        yield* step(async () => {
          await page.getByLabel("Current password").fill(ADMIN.password)
          await page.getByRole("button", { name: "Change password" }).click()
          await page.getByText("Password changed; 1 other session signed out").waitFor()
          await page.locator("tr[data-session]", { hasText: "Phone Script" }).waitFor({ state: "detached" })
        })
        assert.strictEqual(yield* signedIn(phone), 401)
        assert.strictEqual(yield* step(() => sessionRows(page).count()), 1)
        yield* step(async () => {
          await page.reload()
          await page.getByRole("heading", { name: "Account", level: 1 }).waitFor()
          await sessionRows(page).first().waitFor()
        })

        expectError(
          yield* makeClient(server.baseUrl).login(ADMIN.email, ADMIN.password),
          401,
          "invalid_credentials"
        )
        const fresh = makeClient(server.baseUrl)
        assert.strictEqual((yield* fresh.login(ADMIN.email, newPassword)).status, 200)
        assert.strictEqual(
          expectBody(yield* fresh.get("/api/auth/sessions"), 200, SessionsView).items.length,
          2
        )

        // On a phone the page, long user agents included, fits the width.
        const overflow = yield* step(async () => {
          await page.setViewportSize({ width: 375, height: 812 })
          await page.goto(`${server.baseUrl}/admin/account`)
          await sessionRows(page).nth(1).waitFor()
          return Number(await page.evaluate("document.documentElement.scrollWidth - window.innerWidth"))
        })
        yield* screenshot(page, "mobile-account")
        assert.isAtMost(overflow, 0, "/admin/account is wider than the screen")
        assert.deepStrictEqual(problems, [])
      })
  )
})
