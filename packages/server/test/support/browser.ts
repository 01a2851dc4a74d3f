/**
 * Headless Chromium for the console's browser tests: Debian's `chromium`
 * driven by playwright-core (which never downloads a browser), with a fresh
 * profile and nothing that talks to the network on its own.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import path from "node:path"
import { fileURLToPath } from "node:url"
import { Effect } from "effect"
import { type BrowserContext, chromium, type Locator, type Page } from "playwright-core"

export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium"

const ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync"
]

/** Where screenshots go during tests (gitignored); the key ones are copied to docs/images/console. */
export const screenshotDir = fileURLToPath(new URL("../../../../test-results/console/", import.meta.url))

export const missingChromiumMessage = `Chromium is missing at ${CHROMIUM_PATH}. The console's browser tests need Debian's chromium package: apt-get update && apt-get install -y --no-install-recommends chromium (or set CHROMIUM_PATH to another Chromium).`

/** A browser with a fresh profile, closed (and the profile deleted) with the scope. */
export const browserContext = Effect.acquireRelease(
  Effect.promise(async () => {
    if (!existsSync(CHROMIUM_PATH)) throw new Error(missingChromiumMessage)
    const profile = mkdtempSync(path.join(tmpdir(), "botfleet-chromium-"))
    const context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM_PATH,
      headless: true,
      args: ARGS,
      viewport: { width: 1280, height: 860 },
      locale: "en-GB",
      timezoneId: "UTC"
    })
    return { context, profile }
  }),
  ({ context, profile }) =>
    Effect.promise(async () => {
      await context.close()
      rmSync(profile, { recursive: true, force: true })
    })
).pipe(Effect.map(({ context }) => context))

/** Chromium logs every 4xx answer; the console shows those API errors on purpose. */
const expectedApiError = /^Failed to load resource: the server responded with a status of 4\d\d/

/** Everything a page reported as wrong: script errors, console errors (CSP violations among them). */
export const watchProblems = (page: Page): Array<string> => {
  const problems: Array<string> = []
  page.on("pageerror", (error) => problems.push(`page error: ${error.message}`))
  page.on("console", (message) => {
    if (message.type() === "error" && !expectedApiError.test(message.text())) {
      problems.push(`console error: ${message.text()}`)
    }
  })
  return problems
}

/** The whole page by default; `fullPage: false` for what is on screen (e.g. with a modal dialog open). */
/** The whole page, or only `element` (a part worth showing on its own, e.g. one form section). */
export const screenshot = (
  page: Page,
  name: string,
  options: { readonly fullPage?: boolean; readonly element?: Locator } = {}
) =>
  Effect.promise(async () => {
    mkdirSync(screenshotDir, { recursive: true })
    // Toasts fade on their own; in a still picture they only hide the page.
    await page.evaluate("window.scrollTo(0, 0); document.getElementById('toasts')?.replaceChildren()")
    if (options.element) {
      await options.element.screenshot({ path: path.join(screenshotDir, `${name}.png`) })
      return
    }
    await page.screenshot({
      path: path.join(screenshotDir, `${name}.png`),
      fullPage: options.fullPage ?? true
    })
  })

/** Keeps a measured time next to the screenshots (test-results/console/timings.json) for the docs. */
export const recordTiming = (name: string, millis: number) =>
  Effect.sync(() => {
    mkdirSync(screenshotDir, { recursive: true })
    const file = path.join(screenshotDir, "timings.json")
    const timings = existsSync(file) ? (JSON.parse(readFileSync(file, "utf8")) as Record<string, number>) : {}
    writeFileSync(file, `${JSON.stringify({ ...timings, [name]: millis }, null, 2)}\n`)
  })

export type { BrowserContext, Page }
