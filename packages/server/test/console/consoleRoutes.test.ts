/**
 * `/admin` as HTTP: the console's files with the right content types, a
 * strict Content-Security-Policy, revalidation with ETags, page paths
 * answered with index.html, and nothing served outside the allowed files.
 */

import { readdirSync, readFileSync } from "node:fs"
import { request as httpRequest } from "node:http"
import path from "node:path"
import { assert, layer } from "@effect/vitest"
import { Effect } from "effect"
import { CONTENT_SECURITY_POLICY, consoleRoot } from "../../src/http/ConsoleRoutes.ts"
import { expectError, makeClient } from "../support/apiClient.ts"
import { layer as serverLayer, TestServer } from "../support/inProcessServer.ts"

/** A GET with the path sent exactly as written (fetch would normalize `..`). */
const rawGet = (baseUrl: string, rawPath: string) =>
  Effect.promise(
    () =>
      new Promise<{ status: number; body: string }>((resolve, reject) => {
        const url = new URL(baseUrl)
        const request = httpRequest({ host: url.hostname, port: url.port, path: rawPath }, (response) => {
          let body = ""
          response.on("data", (chunk: Buffer) => {
            body += chunk.toString("utf8")
          })
          response.on("end", () => resolve({ status: response.statusCode ?? 0, body }))
        })
        request.on("error", reject)
        request.end()
      })
  )

const assetsDir = path.join(consoleRoot(), "assets")
const assetFiles = readdirSync(assetsDir, { recursive: true, encoding: "utf8" }).filter((file) =>
  /\.(js|css|svg)$/.test(file)
)

layer(serverLayer(), { timeout: 60_000, excludeTestServices: true })("console files", (it) => {
  it.effect("/admin is the console page, with a strict CSP and no inline script or style", () =>
    Effect.gen(function* () {
      const server = yield* TestServer
      const client = makeClient(server.baseUrl)
      const page = yield* client.get("/admin")
      assert.strictEqual(page.status, 200)
      assert.strictEqual(page.headers.get("content-type"), "text/html; charset=utf-8")
      assert.strictEqual(page.headers.get("content-security-policy"), CONTENT_SECURITY_POLICY)
      assert.include(CONTENT_SECURITY_POLICY, "script-src 'self'")
      assert.notInclude(CONTENT_SECURITY_POLICY, "unsafe-inline")
      assert.strictEqual(page.headers.get("x-content-type-options"), "nosniff")
      assert.strictEqual(page.headers.get("x-frame-options"), "DENY")
      assert.strictEqual(page.headers.get("cache-control"), "no-cache")
      assert.include(page.text, '<script type="module" src="/admin/assets/app.js"></script>')
      assert.notMatch(page.text, /<script(?![^>]*\bsrc=)[^>]*>/, "no inline script")
      assert.notMatch(page.text, /\sstyle=|<style/, "no inline style")
      for (const [, href] of page.text.matchAll(/(?:href|src)="(\/admin\/assets\/[^"]+)"/g)) {
        assert.strictEqual((yield* client.get(href!)).status, 200, `index.html refers to ${href}`)
      }
    })
  )

  it.effect("every page path of the console gets the same page; the browser's router picks the view", () =>
    Effect.gen(function* () {
      const server = yield* TestServer
      const client = makeClient(server.baseUrl)
      const index = (yield* client.get("/admin")).text
      for (const pagePath of [
        "/admin/",
        "/admin/chats",
        "/admin/bots/6f1c7a38-6b1e-4c55-9a53-3f4d2b6f0a11"
      ]) {
        const response = yield* client.get(pagePath)
        assert.strictEqual(response.status, 200, pagePath)
        assert.strictEqual(response.text, index, pagePath)
      }
    })
  )

  it.effect("every asset is served with its content type, and each module the console imports exists", () =>
    Effect.gen(function* () {
      const server = yield* TestServer
      const client = makeClient(server.baseUrl)
      const types: Record<string, string> = {
        ".js": "text/javascript; charset=utf-8",
        ".css": "text/css; charset=utf-8",
        ".svg": "image/svg+xml"
      }
      for (const file of assetFiles) {
        const response = yield* client.get(`/admin/assets/${file}`)
        assert.strictEqual(response.status, 200, file)
        assert.strictEqual(response.headers.get("content-type"), types[path.extname(file)], file)
        assert.strictEqual(response.headers.get("content-security-policy"), CONTENT_SECURITY_POLICY)
        assert.strictEqual(response.text, readFileSync(path.join(assetsDir, file), "utf8"), file)
      }
      // Relative imports between modules must resolve to served files.
      for (const file of assetFiles.filter((name) => name.endsWith(".js"))) {
        const source = readFileSync(path.join(assetsDir, file), "utf8")
        for (const [, specifier] of source.matchAll(/(?:from|import\()\s*"(\.{1,2}\/[^"]+)"/g)) {
          const target = path.posix.join("/admin/assets", path.posix.dirname(file), specifier!)
          assert.strictEqual((yield* client.get(target)).status, 200, `${file} imports ${specifier}`)
        }
      }
    })
  )

  it.effect("an unchanged file is a 304 for a browser that has it", () =>
    Effect.gen(function* () {
      const server = yield* TestServer
      const client = makeClient(server.baseUrl)
      const first = yield* client.get("/admin/assets/app.js")
      const etag = first.headers.get("etag")
      assert.match(etag ?? "", /^"[\w-]{22}"$/)
      const again = yield* client.get("/admin/assets/app.js", { headers: { "if-none-match": etag! } })
      assert.strictEqual(again.status, 304)
      assert.strictEqual(again.text, "")
      const stale = yield* client.get("/admin/assets/app.js", { headers: { "if-none-match": '"old"' } })
      assert.strictEqual(stale.status, 200)
    })
  )

  it.effect("a missing asset is a 404 in the API's error shape; nothing outside assets/ is served", () =>
    Effect.gen(function* () {
      const server = yield* TestServer
      const client = makeClient(server.baseUrl)
      expectError(yield* client.get("/admin/assets/missing.js"), 404, "not_found")
      expectError(yield* client.get("/admin/assets/pages"), 404, "not_found")
      for (const rawPath of [
        "/admin/assets/../package.json",
        "/admin/assets/../../server/package.json",
        "/admin/assets/%2e%2e/package.json",
        "/admin/assets/..%2fpackage.json"
      ]) {
        const response = yield* rawGet(server.baseUrl, rawPath)
        assert.notInclude(response.body, "@botfleet/", rawPath)
      }
    })
  )
})
