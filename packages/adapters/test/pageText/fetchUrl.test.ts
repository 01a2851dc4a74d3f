/**
 * fetch_url on the real guarded client and Readability over linkedom,
 * against a local HTTP server: an article's text without its menu and
 * scripts, plain text as it is, long text cut, and every refusal told to the
 * model (metadata address, redirect, HTTP error, too large, not text).
 */
import { fetchUrl, TEXT_MAX_CHARS } from "@botfleet/application"
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import * as OutboundClient from "../../src/outbound/OutboundClient.ts"
import * as OutboundHttpNode from "../../src/outbound/OutboundHttpNode.ts"
import * as PageTextReadability from "../../src/pageText/PageTextReadability.ts"
import { localServer } from "../outbound/localServer.ts"

const ARTICLE = `<!doctype html><html><head><title>Tide tables | Harbour News</title>
<style>body { color: red }</style><script>var secret = "do not read me";</script></head>
<body><nav><a href="/">Home</a> <a href="/sport">Sport</a> <a href="/weather">Weather</a></nav>
<article><h1>Tide tables for December</h1>
<p>High tide on Monday is at 04:12 and again at 16:40, the harbour master said on Sunday.</p>
<p>Boats moored in the inner basin should expect strong currents during the spring tides this week,
and the ferry to the island will run on its winter timetable until the end of the month.</p>
<p>Anglers are reminded that the north pier stays closed while its railings are repaired.</p>
</article><footer>© Harbour News</footer></body></html>`

const tool = fetchUrl(OutboundHttpNode.make(OutboundClient.make({ privateNetworks: "allow" })), {
  fromHtml: (html, url) => Effect.promise(() => PageTextReadability.read(html, url))
})

describe("fetch_url", () => {
  it.effect("an article's readable text and title, without its scripts and styles", () =>
    Effect.gen(function* () {
      const server = yield* localServer((_request, response) => {
        response.writeHead(200, { "content-type": "text/html; charset=utf-8" })
        response.end(ARTICLE)
      })
      const page = yield* tool({ url: `${server.origin}/tides` })
      assert.strictEqual(page.title, "Tide tables | Harbour News")
      assert.include(page.text, "High tide on Monday is at 04:12")
      assert.include(page.text, "north pier stays closed")
      assert.notInclude(page.text, "do not read me")
      assert.notInclude(page.text, "color: red")
      assert.isFalse(page.truncated)
      assert.deepStrictEqual(server.received, ["GET /tides"])
    }).pipe(Effect.scoped)
  )

  it.effect("plain text as it is; a long page cut to the limit and said so", () =>
    Effect.gen(function* () {
      const long = "word ".repeat(TEXT_MAX_CHARS)
      const server = yield* localServer((request, response) => {
        response.writeHead(200, { "content-type": "text/plain" })
        response.end(request.url === "/long" ? long : "just text\n")
      })
      const short = yield* tool({ url: `${server.origin}/short` })
      assert.deepStrictEqual(short, {
        url: `${server.origin}/short`,
        title: null,
        text: "just text",
        truncated: false
      })
      const cut = yield* tool({ url: `${server.origin}/long` })
      assert.strictEqual(cut.text.length, TEXT_MAX_CHARS)
      assert.isTrue(cut.truncated)
    }).pipe(Effect.scoped)
  )

  it.effect("refusals are told to the model: metadata address, redirect, HTTP error, not text", () =>
    Effect.gen(function* () {
      const server = yield* localServer((request, response) => {
        if (request.url === "/moved") {
          response.writeHead(301, { location: "/tides" })
          return response.end()
        }
        if (request.url === "/image") {
          response.writeHead(200, { "content-type": "image/png" })
          return response.end(Buffer.from([0x89, 0x50, 0x4e, 0x47]))
        }
        response.writeHead(404, { "content-type": "text/html" })
        response.end("<p>no</p>")
      })
      const metadata = yield* Effect.flip(tool({ url: "http://169.254.169.254/latest/meta-data/" }))
      assert.include(metadata.reason, "not allowed")
      const moved = yield* Effect.flip(tool({ url: `${server.origin}/moved` }))
      assert.include(moved.reason, `${server.origin}/tides`)
      const missing = yield* Effect.flip(tool({ url: `${server.origin}/missing` }))
      assert.include(missing.reason, "404")
      const image = yield* Effect.flip(tool({ url: `${server.origin}/image` }))
      assert.include(image.reason, "image/png")
      // The redirect was not followed: /tides was never asked for.
      assert.deepStrictEqual(server.received, ["GET /moved", "GET /missing", "GET /image"])
    }).pipe(Effect.scoped)
  )

  it.effect("a page larger than the cap is refused, not read", () =>
    Effect.gen(function* () {
      const server = yield* localServer((_request, response) => {
        response.writeHead(200, { "content-type": "text/html" })
        response.end(`<p>${"x".repeat(3 * 1024 * 1024)}</p>`)
      })
      const failure = yield* Effect.flip(tool({ url: `${server.origin}/huge` }))
      assert.include(failure.reason, "larger than")
    }).pipe(Effect.scoped)
  )
})
