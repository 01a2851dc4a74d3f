/**
 * `/admin`: the web console (packages/console), plain files with no build
 * step. Only files of the allowed kinds under `index.html` and `assets/` are
 * served, read once at start. Every other `/admin/...` path is a page of the
 * console, so it gets `index.html` and the console's router picks the page.
 */
import { createHash } from "node:crypto"
import { readdirSync, readFileSync } from "node:fs"
import { createRequire } from "node:module"
import path from "node:path"
import { Effect, type Layer } from "effect"
import { HttpRouter, HttpServerRequest, HttpServerResponse } from "effect/http"
import { errorResponse } from "./errorResponse.ts"

const CONTENT_TYPES: Readonly<Record<string, string>> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".woff2": "font/woff2"
}

/**
 * Scripts, styles and data only from this server; no inline script or style,
 * no plugins, no framing. The console needs nothing more.
 */
export const CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "font-src 'self'",
  "connect-src 'self'",
  "manifest-src 'self'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'"
].join("; ")

const SECURITY_HEADERS = {
  "content-security-policy": CONTENT_SECURITY_POLICY,
  "x-content-type-options": "nosniff",
  "referrer-policy": "no-referrer",
  "x-frame-options": "DENY",
  "cross-origin-opener-policy": "same-origin",
  // File names carry no version, so the browser revalidates every time; an unchanged file is a 304.
  "cache-control": "no-cache"
}

interface ConsoleFile {
  readonly body: Uint8Array
  readonly contentType: string
  readonly etag: string
}

/** The console's folder: the `@botfleet/console` workspace package. */
export const consoleRoot = (): string =>
  path.dirname(createRequire(import.meta.url).resolve("@botfleet/console/package.json"))

const load = (file: string): ConsoleFile => {
  const body = readFileSync(file)
  const digest = createHash("sha256").update(body).digest("base64url").slice(0, 22)
  return { body, contentType: CONTENT_TYPES[path.extname(file)]!, etag: `"${digest}"` }
}

/** `/admin/assets/...` path → file, for every allowed file under `assets/`. */
export const loadAssets = (root: string): ReadonlyMap<string, ConsoleFile> => {
  const assets = new Map<string, ConsoleFile>()
  const entries = readdirSync(path.join(root, "assets"), { recursive: true, withFileTypes: true })
  for (const entry of entries) {
    if (!entry.isFile() || CONTENT_TYPES[path.extname(entry.name)] === undefined) continue
    const file = path.join(entry.parentPath, entry.name)
    const relative = path.relative(root, file).split(path.sep).join("/")
    assets.set(`/admin/${relative}`, load(file))
  }
  return assets
}

const respond = (request: HttpServerRequest.HttpServerRequest, file: ConsoleFile) =>
  request.headers["if-none-match"] === file.etag
    ? HttpServerResponse.empty({ status: 304, headers: { ...SECURITY_HEADERS, etag: file.etag } })
    : HttpServerResponse.uint8Array(file.body, {
        contentType: file.contentType,
        headers: { ...SECURITY_HEADERS, etag: file.etag }
      })

export const consoleRoutes = (root: string = consoleRoot()) =>
  HttpRouter.use(
    Effect.fn(function* (router) {
      const index = load(path.join(root, "index.html"))
      const assets = loadAssets(root)
      const serve = Effect.gen(function* () {
        const request = yield* HttpServerRequest.HttpServerRequest
        const pathname = new URL(request.url, "http://console").pathname
        if (pathname.startsWith("/admin/assets/")) {
          const asset = assets.get(pathname)
          return asset === undefined
            ? errorResponse(404, "not_found", "no such file")
            : respond(request, asset)
        }
        return respond(request, index)
      })
      yield* router.add("GET", "/admin/*", serve)
    })
  )

export const ConsoleRoutes: Layer.Layer<never, never, HttpRouter.HttpRouter> = consoleRoutes()
