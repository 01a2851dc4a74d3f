/**
 * The PageText port on Mozilla's Readability (Firefox's Reader View, kept by
 * Mozilla) over linkedom, a small DOM with no layout or script engine
 * (3 MB installed with its parser; measured 12.8 ms for a 35 KB page). Readability picks the article;
 * a page it finds none in falls back to the body's text. Scripts never run:
 * linkedom parses, it does not execute.
 *
 * Both are loaded on the first page read, not at start: linkedom and its
 * parser cost each thread that imports them ~28 MB of RSS (measured alone),
 * and the pipeline thread, which answers chats, rarely reads a page.
 */
import { PageText, type ReadablePage } from "@botfleet/application"
import { Effect, Layer } from "effect"

type Libraries = {
  readonly parseHTML: typeof import("linkedom").parseHTML
  readonly Readability: typeof import("@mozilla/readability").Readability
}

let loading: Promise<Libraries> | undefined
/** Imported once, on first use; later reads share the same modules. */
const libraries = () => {
  loading ??= Promise.all([import("linkedom"), import("@mozilla/readability")]).then(
    ([linkedom, readability]) => ({ parseHTML: linkedom.parseHTML, Readability: readability.Readability })
  )
  return loading
}

/** Runs of blank lines and spaces as a reader sees them: one blank line between paragraphs. */
const tidy = (text: string): string =>
  text
    .replace(/\r\n?/g, "\n")
    .replace(/[ \t\f\v\u00a0]+/g, " ")
    .replace(/ *\n */g, "\n")
    .replace(/\n{3,}/g, "\n\n")
    .trim()

export const read = async (html: string, url: string): Promise<ReadablePage> => {
  const { parseHTML, Readability } = await libraries()
  const { document } = parseHTML(html)
  const title = document.title?.trim() || null
  // Readability changes the document it reads; the body text is taken first for the fallback.
  for (const node of document.querySelectorAll("script, style, noscript, template")) node.remove()
  const bodyText = document.body?.textContent ?? ""
  let article: { title?: string | null | undefined; textContent?: string | null | undefined } | null = null
  try {
    Object.defineProperty(document, "documentURI", { value: url, configurable: true })
    article = new Readability(document as unknown as ConstructorParameters<typeof Readability>[0]).parse()
  } catch {
    // A page Readability cannot walk is read as its body's text.
  }
  const text = tidy(article?.textContent ?? "")
  return {
    title: article?.title?.trim() || title,
    text: text.length > 0 ? text : tidy(bodyText)
  }
}

export const layer: Layer.Layer<PageText> = Layer.succeed(
  PageText,
  PageText.of({ fromHtml: (html, url) => Effect.promise(() => read(html, url)) })
)
