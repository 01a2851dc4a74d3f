/**
 * One log line per event: JSON by default (time, level, message, trace and
 * span ids, then the annotations as fields), or a readable line for humans.
 */
import { Cause, Layer, Logger, References } from "effect"
import type { LogLevelName } from "../config/AppConfig.ts"

const levelNames: Record<LogLevelName, "Trace" | "Debug" | "Info" | "Warn" | "Error" | "Fatal"> = {
  trace: "Trace",
  debug: "Debug",
  info: "Info",
  warn: "Warn",
  error: "Error",
  fatal: "Fatal"
}

const isPlainObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === "object" && value !== null && Object.getPrototypeOf(value) === Object.prototype

/** Text parts become the message; plain objects (`Effect.log("x", { id })`) become fields. */
const splitMessage = (message: unknown) => {
  const parts = Array.isArray(message) ? message : [message]
  const text: Array<string> = []
  const fields: Record<string, unknown> = {}
  for (const part of parts) {
    if (isPlainObject(part)) Object.assign(fields, part)
    else text.push(typeof part === "string" ? part : String(part))
  }
  return { text: text.join(" "), fields }
}

const fieldsOf = (annotations: Record<string, unknown>): Record<string, unknown> => {
  const fields: Record<string, unknown> = {}
  for (const [key, value] of Object.entries(annotations)) fields[key] = value
  return fields
}

/** The record every format shares; the logger writes it to stdout. */
const toRecord = Logger.make(({ cause, date, fiber, logLevel, message }) => {
  const span = fiber.cache.span
  const { text, fields } = splitMessage(message)
  const record: Record<string, unknown> = {
    time: date.toISOString(),
    level: logLevel.toLowerCase(),
    message: text,
    ...fieldsOf(fiber.getRef(References.CurrentLogAnnotations)),
    ...fields
  }
  // With tracing off spans are no-ops whose ids say "noop": nothing to look up, so left out.
  if (span !== undefined && span.traceId !== "noop") {
    record.trace_id = span.traceId
    record.span_id = span.spanId
  }
  if (cause.reasons.length > 0) record.cause = Cause.pretty(cause)
  return record
})

const jsonLogger = Logger.map(toRecord, (record) => {
  process.stdout.write(`${JSON.stringify(record)}\n`)
})

/**
 * Log text often quotes remote input (a chat message, a foreign server's
 * error). In a terminal, a newline in it would forge a log line and an ANSI
 * escape could rewrite the screen, so control characters (C0, DEL, C1, the
 * Unicode line and paragraph separators, bidirectional overrides) are shown
 * as escapes instead. JSON needs none of this: JSON.stringify escapes C0,
 * so a JSON record is always one line.
 */
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching them is the point
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g
const NAMED: Record<string, string> = { "\n": "\\n", "\r": "\\r", "\t": "\\t" }

export const escapeControl = (text: string): string =>
  text.replace(CONTROL, (char) => {
    const code = char.charCodeAt(0)
    return (
      NAMED[char] ?? (code <= 0xff ? `\\x${code.toString(16).padStart(2, "0")}` : `\\u${code.toString(16)}`)
    )
  })

const prettyLogger = Logger.map(toRecord, ({ time, level, message, cause, ...fields }) => {
  const extra = Object.entries(fields)
    .map(
      ([key, value]) =>
        `${escapeControl(key)}=${escapeControl(typeof value === "string" ? value : String(JSON.stringify(value)))}`
    )
    .join(" ")
  // A cause is many lines by design (a stack trace): each is indented, so none can pass for a log line.
  const causeLines = cause
    ? `${String(cause)
        .split("\n")
        .map((line) => `    ${escapeControl(line)}`)
        .join("\n")}\n`
    : ""
  process.stdout.write(
    `${String(time).slice(11, 23)} ${String(level).toUpperCase().padEnd(5)} ${escapeControl(String(message))}${extra ? ` ${extra}` : ""}\n${causeLines}`
  )
})

export const layer = (options: { readonly format: "json" | "pretty"; readonly level: LogLevelName }) =>
  Layer.mergeAll(
    Logger.layer([options.format === "json" ? jsonLogger : prettyLogger]),
    Layer.succeed(References.MinimumLogLevel, levelNames[options.level])
  )
