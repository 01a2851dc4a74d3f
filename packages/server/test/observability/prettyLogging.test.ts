/**
 * LOG_FORMAT=pretty writes to a terminal: remote text with a newline or an
 * ANSI escape in it must not forge a log line nor repaint the screen.
 */
import { assert, describe, it, vi } from "@effect/vitest"
import { Cause, Effect } from "effect"
import * as Logging from "../../src/observability/Logging.ts"

const outputOf = async (effect: Effect.Effect<void>, format: "json" | "pretty") => {
  const chunks: Array<string> = []
  const write = vi.spyOn(process.stdout, "write").mockImplementation((chunk) => {
    chunks.push(String(chunk))
    return true
  })
  try {
    await Effect.runPromise(effect.pipe(Effect.provide(Logging.layer({ format, level: "info" }))))
  } finally {
    write.mockRestore()
  }
  return chunks.join("")
}

/** C0 (but `allowed`), DEL, C1, U+2028/2029 and U+202E, found by code point. */
const controls = (text: string, allowed = "") =>
  [...text].filter((char) => {
    const code = char.codePointAt(0)!
    if (allowed.includes(char)) return false
    return (
      code < 0x20 || (code >= 0x7f && code <= 0x9f) || code === 0x2028 || code === 0x2029 || code === 0x202e
    )
  })

/** What a chat user or a foreign server could put in text we log. */
const FORGED = "hi\n00:00:00.000 ERROR admin password reset\x1b[31m red\x1b[0m\r\u0085\u2028\u202e"

describe("pretty logs", () => {
  it("a message and annotations with control characters stay one line, the escapes visible", async () => {
    const output = await outputOf(
      Effect.logInfo(FORGED).pipe(Effect.annotateLogs({ text: FORGED, [`key\n${FORGED}`]: 1 })),
      "pretty"
    )
    const lines = output.split("\n")
    assert.lengthOf(lines, 2, output)
    assert.strictEqual(lines[1], "", "the line ends with its own newline only")
    const line = lines[0]!
    assert.deepStrictEqual(controls(line), [])
    assert.include(
      line,
      "INFO  hi\\n00:00:00.000 ERROR admin password reset\\x1b[31m red\\x1b[0m\\r\\x85\\u2028\\u202e text=hi\\n"
    )
    assert.include(line, "key\\nhi\\n00:00:00.000")
  })

  it("a cause's lines are indented, and control characters in them escaped", async () => {
    const output = await outputOf(Effect.logError("failed", Cause.fail(new Error(FORGED))), "pretty")
    const [first, ...rest] = output.trimEnd().split("\n")
    assert.match(first!, /^\d\d:\d\d:\d\d\.\d{3} ERROR failed$/)
    assert.isAbove(rest.length, 0)
    for (const line of rest) {
      assert.match(line, /^ {4}/, "no cause line can pass for a log line")
      assert.deepStrictEqual(controls(line), [])
    }
    assert.include(output, "\\x1b[31m")
  })

  it("JSON stays one line per record whatever the text", async () => {
    const output = await outputOf(Effect.logInfo(FORGED).pipe(Effect.annotateLogs({ text: FORGED })), "json")
    const lines = output.trimEnd().split("\n")
    assert.lengthOf(lines, 1)
    const record = JSON.parse(lines[0]!) as Record<string, unknown>
    assert.strictEqual(record.message, FORGED, "nothing lost: a JSON reader gets the text back")
    assert.notInclude(lines[0]!, "\x1b")
  })
})
