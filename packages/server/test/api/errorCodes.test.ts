/**
 * Every error code the server can answer with is in docs/api.md's error
 * table: the codes of the one status table (ApiErrors.ts) and every code
 * written where a response is made by hand (edges, webhook, console files).
 */
import { readdirSync, readFileSync } from "node:fs"
import { join } from "node:path"
import { SetupRefused } from "@botfleet/application"
import { assert, describe, it } from "@effect/vitest"
import { apiErrors } from "../../src/api/ApiErrors.ts"

const root = join(import.meta.dirname, "..", "..", "..", "..")

const sourceFiles = (dir: string): ReadonlyArray<string> =>
  readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory()
      ? sourceFiles(join(dir, entry.name))
      : entry.name.endsWith(".ts")
        ? [join(dir, entry.name)]
        : []
  )

/** `errorResponse(404, "not_found", …)`, `error("name_taken", …)`, `{ status, code: "…" }`. */
const WRITTEN_CODE = /(?:errorResponse\(\s*\d{3},\s*|error\(\s*|code:\s*)"([a-z][a-z_]*)"/g

const writtenCodes = sourceFiles(join(root, "packages", "server", "src")).flatMap((file) =>
  [...readFileSync(file, "utf8").matchAll(WRITTEN_CODE)].map((match) => match[1]!)
)

const emitted = new Set([
  ...writtenCodes,
  ...Object.values(apiErrors).map((answer) => answer.code),
  // The first run answers with the reason as the code.
  ...SetupRefused.fields.reason.literals
])

const docs = readFileSync(join(root, "docs", "api.md"), "utf8")
const table = docs.slice(docs.indexOf("### Errors"), docs.indexOf("### Pagination"))
/** The codes in the table's second column. */
const documented = new Set(
  table
    .split("\n")
    .filter((line) => /^\|\s*\d{3}\s*\|/.test(line))
    .flatMap((line) => [...(line.split("|")[2] ?? "").matchAll(/`([a-z_]+)`/g)].map((match) => match[1]!))
)

describe("error codes", () => {
  it("the sources name the codes this test looks for", () => {
    // Guards the scan itself: codes from each kind of place it reads.
    for (const code of [
      "not_found",
      "malformed_json",
      "body_incomplete",
      "invalid_cursor",
      "bot_not_found"
    ]) {
      assert.isTrue(emitted.has(code), code)
    }
    assert.isAbove(documented.size, 20)
  })

  it("every code the server can emit is in docs/api.md's error table", () => {
    const missing = [...emitted].filter((code) => !documented.has(code)).sort()
    assert.deepStrictEqual(missing, [])
  })
})
