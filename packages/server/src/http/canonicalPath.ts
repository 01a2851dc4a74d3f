/**
 * One spelling per path. Before anything else looks at a request, its path is
 * rewritten to the one spelling the router, the origin check, CORS and the
 * rate limits all see: escapes of plain characters decoded (`/%61pi` is
 * `/api`), repeated slashes collapsed, `.`/`..` segments resolved, a trailing
 * slash dropped. Case is not folded (ids may hold capitals): the router is
 * case-sensitive instead (Server.ts), so `/API/...` matches no route. A path
 * that cannot be read one way only (a bad escape, a control character, `\`,
 * `;`, which the router would cut as a query) is refused with 400.
 */
import { Effect } from "effect"
import { HttpServerRequest, type HttpServerResponse } from "effect/http"
import { errorResponse } from "./errorResponse.ts"

const UNRESERVED = /^[A-Za-z0-9\-._~]$/
const ESCAPE = /%([0-9A-Fa-f]{2})/g
// Characters that could make two readers cut the path differently, a bad escape, an escaped NUL.
const UNREADABLE = /[\\;#]|%(?![0-9A-Fa-f]{2})|%00/
/** Spaces and control characters (Node refuses most of them already; this is the one rule). */
const hasControl = (path: string) => {
  for (let i = 0; i < path.length; i++) {
    const code = path.charCodeAt(i)
    if (code <= 0x20 || code === 0x7f) return true
  }
  return false
}

/** The canonical spelling of `path` (no query), or undefined when it cannot be read one way only. */
export const canonicalPathOf = (path: string): string | undefined => {
  if (!path.startsWith("/") || UNREADABLE.test(path) || hasControl(path)) return undefined
  const decoded = path.replace(ESCAPE, (escaped, hex: string) => {
    const char = String.fromCharCode(Number.parseInt(hex, 16))
    return UNRESERVED.test(char) ? char : escaped.toUpperCase()
  })
  const segments: Array<string> = []
  for (const segment of decoded.split("/")) {
    if (segment === "" || segment === ".") continue
    if (segment === "..") segments.pop()
    else segments.push(segment)
  }
  return `/${segments.join("/")}`
}

/** The path of a request, without its query. */
export const pathOf = (request: HttpServerRequest.HttpServerRequest): string => {
  const query = request.url.indexOf("?")
  return query === -1 ? request.url : request.url.slice(0, query)
}

export const canonicalPath = <E, R>(
  app: Effect.Effect<HttpServerResponse.HttpServerResponse, E, R>
): Effect.Effect<HttpServerResponse.HttpServerResponse, E, R | HttpServerRequest.HttpServerRequest> =>
  Effect.flatMap(HttpServerRequest.HttpServerRequest, (request) => {
    const path = pathOf(request)
    const canonical = canonicalPathOf(path)
    if (canonical === undefined) {
      return Effect.succeed(
        errorResponse(400, "invalid_path", "the path has a malformed escape or a character it may not hold")
      )
    }
    if (canonical === path) return app
    const rewritten = request.modify({ url: canonical + request.url.slice(path.length) })
    return Effect.provideService(app, HttpServerRequest.HttpServerRequest, rewritten)
  })
