/**
 * The first run as a new user meets it: the real server started with no
 * admin variables prints a one-time setup link; opened in Chromium, it creates
 * the owner, signs them in and lands on the bots page. Made-up, wrong and
 * reused links are refused, and nothing is created by them.
 */
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import path from "node:path"
import { Database } from "@botfleet/adapters/postgres"
import { serverUrl, TestDatabase } from "@botfleet/testing"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Redacted } from "effect"
import { SqlClient } from "effect/sql"
import { browserContext, screenshot, watchProblems } from "../support/browser.ts"
import { type ServerProcess, startServerProcess, waitUntilReady } from "../support/serverProcess.ts"

const setupLine = /no admin yet: open (http:\/\/\S+\/admin\/setup#([\w-]+)) /

const OWNER = { email: "owner@example.com", password: "a long first password" }

const post = (server: ServerProcess, path: string, body: unknown) =>
  fetch(`${server.baseUrl}${path}`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body)
  }).then(async (response) => ({
    status: response.status,
    body: (await response.json()) as { readonly error: { readonly code: string; readonly message: string } }
  }))

const step = <A>(run: () => Promise<A>) => Effect.promise(run)

describe("first run", () => {
  it.effect(
    "the setup link from the log creates the owner in the browser, once; wrong and made-up links create nothing",
    () =>
      Effect.gen(function* () {
        const database = yield* TestDatabase.TestDatabase
        const sql = yield* SqlClient.SqlClient
        const dataDir = mkdtempSync(path.join(tmpdir(), "botfleet-first-run-"))
        yield* Effect.addFinalizer(() => Effect.sync(() => rmSync(dataDir, { recursive: true, force: true })))
        const server = yield* Effect.acquireRelease(
          step(() => startServerProcess({ DATA_DIR: dataDir, DATABASE_URL: Redacted.value(database.url) })),
          (started) =>
            Effect.promise(async () => {
              started.child.kill("SIGTERM")
              await started.exited
            })
        )
        yield* step(() => server.waitForOutput(setupLine))
        yield* step(() => waitUntilReady(server))
        const output = server.output()
        const [, link = "", token = ""] = output.match(setupLine) ?? []
        assert.match(output, /console: http:\/\/127\.0\.0\.1:\d+\/admin/)
        assert.strictEqual(new URL(link).origin, server.baseUrl, "the link points at this server")
        assert.isAtLeast(token.length, 43, "32 random bytes")
        assert.strictEqual(output.split(token).length - 1, 1, "the token appears in that one line only")
        const stored = yield* sql<{ token_hash: string }>`SELECT token_hash FROM admin_setup_tokens`
        assert.isFalse(
          stored.some((row) => row.token_hash === token),
          "only a hash is kept"
        )

        // The console says where the link is while no admin exists.
        const status = yield* step(() => fetch(`${server.baseUrl}/api/setup`).then((r) => r.json()))
        assert.deepStrictEqual(status, { needed: true })

        // Made-up and wrong tokens: refused, nothing created.
        const madeUp = yield* step(() =>
          post(server, "/api/setup", {
            token: "made-up-token",
            email: "eve@example.com",
            password: "eve's long password"
          })
        )
        assert.strictEqual(madeUp.status, 403)
        assert.strictEqual(madeUp.body.error.code, "invalid_link")
        assert.match(madeUp.body.error.message, /server log/)
        const wrong = `${token.slice(0, -1)}${token.endsWith("A") ? "B" : "A"}`
        const wrongAnswer = yield* step(() =>
          post(server, "/api/setup", {
            token: wrong,
            email: "eve@example.com",
            password: "eve's long password"
          })
        )
        assert.strictEqual(wrongAnswer.status, 403)
        assert.strictEqual(wrongAnswer.body.error.code, "invalid_link")
        assert.strictEqual((yield* sql<{ n: number }>`SELECT count(*)::int AS n FROM admins`)[0]?.n, 0)

        // The owner opens the link in a browser.
        const browser = yield* browserContext
        const page = yield* step(() => browser.newPage())
        const problems = watchProblems(page)
        yield* step(() => page.goto(link))
        yield* step(() => page.getByRole("heading", { name: "Create the owner account" }).waitFor())
        assert.strictEqual(new URL(page.url()).hash, "", "the token is taken off the address bar")
        yield* step(() => page.getByLabel("Email").fill(OWNER.email))
        yield* step(() => page.getByLabel("Password", { exact: true }).fill(OWNER.password))
        yield* step(() => page.getByLabel("Password again").fill(OWNER.password))
        yield* screenshot(page, "first-run-setup")
        yield* step(() => page.getByRole("button", { name: "Create the owner account" }).click())
        yield* step(() => page.getByRole("heading", { name: "Bots", exact: true }).waitFor())
        assert.strictEqual(new URL(page.url()).pathname, "/admin")
        yield* screenshot(page, "first-run-bots")
        assert.deepStrictEqual(problems, [])

        const admins = yield* sql<{ email: string }>`SELECT email FROM admins`
        assert.deepStrictEqual(
          admins.map((admin) => admin.email),
          [OWNER.email]
        )
        assert.strictEqual(
          (yield* sql<{ n: number }>`SELECT count(*)::int AS n FROM admin_setup_tokens`)[0]?.n,
          0
        )

        // The same link a second time: refused, nothing created.
        const again = yield* step(() =>
          post(server, "/api/setup", {
            token,
            email: "second@example.com",
            password: "another long password"
          })
        )
        assert.strictEqual(again.status, 403)
        assert.strictEqual(again.body.error.code, "already_set_up")
        assert.strictEqual((yield* sql<{ n: number }>`SELECT count(*)::int AS n FROM admins`)[0]?.n, 1)
        const after = yield* step(() => fetch(`${server.baseUrl}/api/setup`).then((r) => r.json()))
        assert.deepStrictEqual(after, { needed: false })

        // A link opened again in the browser says so instead of creating anything.
        const second = yield* step(() => browser.newPage())
        yield* step(() => second.goto(link))
        yield* step(() => second.getByLabel("Email").fill("second@example.com"))
        yield* step(() => second.getByLabel("Password", { exact: true }).fill("another long password"))
        yield* step(() => second.getByLabel("Password again").fill("another long password"))
        yield* step(() => second.getByRole("button", { name: "Create the owner account" }).click())
        yield* step(() => second.getByText("setup is done").waitFor())
        assert.strictEqual((yield* sql<{ n: number }>`SELECT count(*)::int AS n FROM admins`)[0]?.n, 1)
      }).pipe(Effect.provide(TestDatabase.layer(serverUrl(), Database.layerAt)), Effect.scoped),
    120_000
  )

  it.effect(
    "once an admin exists a start prints the console's address and no setup link",
    () =>
      Effect.gen(function* () {
        const database = yield* TestDatabase.TestDatabase
        const dataDir = mkdtempSync(path.join(tmpdir(), "botfleet-first-run-"))
        yield* Effect.addFinalizer(() => Effect.sync(() => rmSync(dataDir, { recursive: true, force: true })))
        const server = yield* Effect.acquireRelease(
          step(() =>
            startServerProcess({
              DATA_DIR: dataDir,
              DATABASE_URL: Redacted.value(database.url),
              ADMIN_EMAIL: OWNER.email,
              ADMIN_PASSWORD: OWNER.password
            })
          ),
          (started) =>
            Effect.promise(async () => {
              started.child.kill("SIGTERM")
              await started.exited
            })
        )
        yield* step(() => server.waitForOutput(/console: http:\/\/127\.0\.0\.1:\d+\/admin/))
        yield* step(() => waitUntilReady(server))
        assert.notMatch(server.output(), /no admin yet|\/admin\/setup/)
        const status = yield* step(() => fetch(`${server.baseUrl}/api/setup`).then((r) => r.json()))
        assert.deepStrictEqual(status, { needed: false })
      }).pipe(Effect.provide(TestDatabase.layer(serverUrl(), Database.layerAt)), Effect.scoped),
    60_000
  )
})
