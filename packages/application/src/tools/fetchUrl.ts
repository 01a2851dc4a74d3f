/**
 * fetch_url: a web page as readable text, through the guarded outbound
 * client (no link-local, metadata or, when denied, private addresses; no
 * redirects followed; bounded time and size). What the model gets is cut to
 * TEXT_MAX_CHARS: a page is read to answer a question, not kept whole.
 */
import { Effect } from "effect"
import type { OutboundHttp } from "../ports/Outbound.ts"
import type { PageText } from "../ports/PageText.ts"
import type { ToolFailure } from "./builtins.ts"

/** A page larger than this is refused: most articles are under 300 KiB of HTML. */
export const FETCH_MAX_BYTES = 2 * 1024 * 1024
export const FETCH_TIMEOUT_MS = 10_000
/** About 5,000 tokens: enough to answer from, small next to a model's context. */
export const TEXT_MAX_CHARS = 20_000

const ACCEPT = "text/html,application/xhtml+xml,text/plain;q=0.9,application/json;q=0.8,*/*;q=0.1"

const failure = (reason: string) => Effect.fail<ToolFailure>({ reason })

const mediaType = (contentType: string | undefined): string =>
  (contentType ?? "").split(";", 1)[0]!.trim().toLowerCase()

export const fetchUrl = (outbound: OutboundHttp["Service"], pages: PageText["Service"]) =>
  Effect.fn("tool.fetch_url")(function* (params: { readonly url: string }) {
    const response = yield* outbound
      .request({
        url: params.url,
        headers: { accept: ACCEPT, "user-agent": "Botfleet/1.0 (fetch_url)" },
        timeoutMs: FETCH_TIMEOUT_MS,
        maxBytes: FETCH_MAX_BYTES
      })
      .pipe(Effect.catch((error) => failure(error.message)))
    if (response.status >= 300 && response.status < 400) {
      const location = response.headers.location
      const target =
        location === undefined || !URL.canParse(location, params.url)
          ? undefined
          : new URL(location, params.url).href
      return yield* failure(
        target === undefined
          ? `the page redirects (HTTP ${response.status})`
          : `the page moved to ${target}; fetch that URL if it is the one you want`
      )
    }
    if (response.status < 200 || response.status >= 300) {
      return yield* failure(`the server answered HTTP ${response.status}`)
    }
    const type = mediaType(response.headers["content-type"])
    const body = new TextDecoder().decode(response.body)
    let title: string | null = null
    let text: string
    if (type === "text/html" || type === "application/xhtml+xml" || type === "") {
      const page = yield* pages.fromHtml(body, params.url)
      title = page.title
      text = page.text
    } else if (type.startsWith("text/") || type === "application/json" || type.endsWith("+json")) {
      text = body.trim()
    } else {
      return yield* failure(`not a text page (${type})`)
    }
    const truncated = text.length > TEXT_MAX_CHARS
    return { url: params.url, title, text: truncated ? text.slice(0, TEXT_MAX_CHARS) : text, truncated }
  })
