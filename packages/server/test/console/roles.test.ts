/**
 * Roles in a real browser: the owner invites an operator and a viewer from
 * the Admins page, each accepts their link in a browser of their own, and
 * each sees only what their role allows; the owner then reads the audit log.
 */
import { assert, layer } from "@effect/vitest"
import { Effect } from "effect"
import { BotView } from "../../src/api/schemas.ts"
import { ADMIN, expectBody, loggedIn, withAdmin } from "../support/apiClient.ts"
import { browserContext, type Page, screenshot, watchProblems } from "../support/browser.ts"
import {
  eventuallyEffect,
  postUpdate,
  layer as serverLayer,
  TestServer,
  textUpdate
} from "../support/inProcessServer.ts"

const step = <A>(run: () => Promise<A>) => Effect.promise(run)

const navLinks = (page: Page) => page.getByRole("navigation").getByRole("link").allTextContents()

/** A fresh browser (its own profile: no cookie of anyone else) on a new page. */
const freshPage = Effect.gen(function* () {
  const browser = yield* browserContext
  const page = yield* step(() => browser.newPage())
  return { page, problems: watchProblems(page) }
})

/** The owner fills in the invitation form and reads the link shown once. */
const invite = (page: Page, email: string, role: string) =>
  step(async () => {
    await page.getByLabel("Email").fill(email)
    await page.getByLabel("Role", { exact: true }).selectOption(role)
    await page.getByRole("button", { name: "Invite" }).click()
    await page.getByText(`Invitation for ${email}`).waitFor()
    const link = await page.getByLabel("Invitation link").inputValue()
    assert.match(link, /\/admin\/invite#[\w-]{43}$/)
    return link
  })

/** The invitee opens the link, chooses a password and lands on the fleet, signed in. */
const accept = (page: Page, link: string, password: string) =>
  step(async () => {
    await page.goto(link)
    await page.getByRole("heading", { name: "Accept your invitation" }).waitFor()
    // The token left the address bar as soon as the page read it.
    assert.notInclude(page.url(), "#")
    await page.getByLabel("Password", { exact: true }).fill(password)
    await page.getByLabel("Password again").fill(password)
    await page.getByRole("button", { name: "Set password and sign in" }).click()
    await page.getByRole("heading", { name: "Bots", level: 1 }).waitFor()
  })

layer(serverLayer(withAdmin()), { timeout: 180_000, excludeTestServices: true })("console roles", (it) => {
  it.effect(
    "owner invites an operator and a viewer; each sees only what the role allows; the owner reads the audit log",
    () =>
      Effect.gen(function* () {
        const server = yield* TestServer
        const api = yield* loggedIn(server.baseUrl)
        const { bot } = yield* server.addBot("Shop")
        assert.strictEqual((yield* postUpdate(server.baseUrl, bot, textUpdate(55_001, "hello"))).status, 200)
        const chatId = yield* eventuallyEffect(
          Effect.map(
            server.sql<{ id: string }>`SELECT id FROM chats WHERE bot_id = ${bot.id}`.pipe(Effect.orDie),
            (rows) => rows[0]?.id
          )
        )

        // The owner signs in and invites.
        const owner = yield* freshPage
        yield* step(async () => {
          await owner.page.goto(`${server.baseUrl}/admin/sign-in`)
          await owner.page.getByLabel("Email").fill(ADMIN.email)
          await owner.page.getByLabel("Password").fill(ADMIN.password)
          await owner.page.getByRole("button", { name: "Sign in" }).click()
          await owner.page.getByRole("heading", { name: "Bots", level: 1 }).waitFor()
        })
        assert.includeMembers(yield* step(() => navLinks(owner.page)), ["Bots", "Admins", "Audit log"])
        yield* step(async () => {
          await owner.page.getByRole("navigation").getByRole("link", { name: "Admins" }).click()
          await owner.page.getByRole("heading", { name: "Admins", level: 1 }).waitFor()
        })
        const operatorLink = yield* invite(owner.page, "ops@example.com", "operator")
        yield* screenshot(owner.page, "admins-invited")
        const viewerLink = yield* invite(owner.page, "reader@example.com", "viewer")
        assert.notStrictEqual(operatorLink, viewerLink)

        // The viewer: reads everything, no control to change anything.
        const viewer = yield* freshPage
        yield* accept(viewer.page, viewerLink, "the viewer's own password")
        const viewerNav = yield* step(() => navLinks(viewer.page))
        assert.includeMembers(viewerNav, ["Bots", "Chats", "Failures", "Stats"])
        for (const hidden of ["Admins", "Audit log", "Alerts"]) assert.notInclude(viewerNav, hidden)
        yield* step(async () => {
          await viewer.page.locator("tr", { hasText: "Shop" }).waitFor()
          assert.strictEqual(await viewer.page.getByRole("button", { name: /^(Enable|Disable)/ }).count(), 0)
          assert.strictEqual(await viewer.page.getByRole("link", { name: "Add bot" }).count(), 0)
          await viewer.page.goto(`${server.baseUrl}/admin/bots/${bot.id}`)
          await viewer.page.getByRole("heading", { name: "Shop", level: 1 }).waitFor()
          assert.strictEqual(
            await viewer.page.getByRole("button", { name: /^(Enable|Disable|Save)/ }).count(),
            0
          )
          assert.strictEqual(await viewer.page.getByRole("button", { name: /Delete bot/ }).count(), 0)
          await viewer.page.goto(`${server.baseUrl}/admin/chats/${chatId}`)
          await viewer.page.locator(".message-user", { hasText: "hello" }).waitFor()
          assert.strictEqual(await viewer.page.getByLabel("Answer as Shop").count(), 0)
        })
        yield* screenshot(viewer.page, "chat-viewer")
        // Owner pages are not reachable by typing their address either.
        yield* step(async () => {
          await viewer.page.goto(`${server.baseUrl}/admin/admins`)
          await viewer.page.waitForURL(/\/admin$/)
        })
        // And the server says no to a write made by hand, with the viewer's own session.
        const refused = yield* step(() =>
          viewer.page.evaluate(async (id) => {
            const response = await fetch(`/api/bots/${id}/disable`, { method: "POST" })
            return { status: response.status, body: (await response.json()) as { error: { code: string } } }
          }, bot.id)
        )
        assert.strictEqual(refused.status, 403)
        assert.strictEqual(refused.body.error.code, "forbidden")
        assert.isTrue(expectBody(yield* api.get(`/api/bots/${bot.id}`), 200, BotView).active)

        // The operator: can disable a bot, cannot reach admins or change providers.
        const operator = yield* freshPage
        yield* accept(operator.page, operatorLink, "the operator's own password")
        const operatorNav = yield* step(() => navLinks(operator.page))
        for (const hidden of ["Admins", "Audit log", "Alerts"]) assert.notInclude(operatorNav, hidden)
        yield* step(async () => {
          await operator.page.getByRole("button", { name: "Disable Shop" }).click()
          await operator.page
            .locator("tr", { hasText: "Shop" })
            .locator(".badge", { hasText: "Disabled" })
            .waitFor()
        })
        assert.isFalse(expectBody(yield* api.get(`/api/bots/${bot.id}`), 200, BotView).active)
        yield* step(async () => {
          await operator.page.getByRole("navigation").getByRole("link", { name: "Providers" }).click()
          await operator.page.getByRole("heading", { name: "Providers", level: 1 }).waitFor()
          assert.strictEqual(await operator.page.getByRole("link", { name: "Add a provider" }).count(), 0)
          await operator.page.goto(`${server.baseUrl}/admin/providers/new`)
          await operator.page.waitForURL(/\/admin$/)
          await operator.page.goto(`${server.baseUrl}/admin/admins`)
          await operator.page.waitForURL(/\/admin$/)
        })
        yield* screenshot(operator.page, "fleet-operator")

        // The owner sees what happened: the invitations, the operator's change, the viewer's refused try.
        yield* step(async () => {
          await owner.page.getByRole("navigation").getByRole("link", { name: "Audit log" }).click()
          await owner.page.getByRole("heading", { name: "Audit log", level: 1 }).waitFor()
          const rows = owner.page.locator("tbody tr")
          await rows
            .filter({ hasText: "bot.disable" })
            .filter({ hasText: "ops@example.com" })
            .filter({ hasText: "Done" })
            .waitFor()
          await rows
            .filter({ hasText: "bot.disable" })
            .filter({ hasText: "reader@example.com" })
            .filter({ hasText: "Refused" })
            .waitFor()
          assert.strictEqual(await rows.filter({ hasText: "admin.invite" }).count(), 2)
          await rows.filter({ hasText: "invitation.accept" }).first().waitFor()
          // Filtered by action.
          await owner.page.getByLabel("Action").fill("admin.invite")
          await owner.page.getByRole("button", { name: "Filter" }).click()
          await owner.page.waitForURL(/action=admin.invite/)
          await owner.page.locator("tbody tr", { hasText: "reader@example.com as viewer" }).waitFor()
          assert.strictEqual(await owner.page.locator("tbody tr").count(), 2)
        })
        yield* screenshot(owner.page, "audit")

        for (const { problems } of [owner, viewer, operator]) {
          assert.deepStrictEqual(problems, [], "no script errors and no CSP violations")
        }
      }).pipe(Effect.scoped),
    180_000
  )
})
