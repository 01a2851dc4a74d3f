/** Text PostgreSQL can store: its `text` and `jsonb` refuse NUL and unpaired surrogate halves. */
import { Schema } from "effect"

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g
/** Surrogates, paired or not: text without them (and without NUL) is returned as it is. */
const SURROGATE = /[\uD800-\uDFFF]/

/** NUL and lone surrogates become U+FFFD; clean text comes back as the same string. */
export const storableText = (text: string): string =>
  SURROGATE.test(text) || text.includes("\u0000")
    ? text.replace(LONE_SURROGATE, "\uFFFD").replaceAll("\u0000", "\uFFFD")
    : text

/**
 * Every string a client sends is built on this: text PostgreSQL can store, or
 * a 400 naming the field.
 */
export const InputString = Schema.String.check(
  Schema.makeFilter((text: string) => storableText(text) === text, {
    expected: "text without NUL characters or unpaired surrogates"
  })
)
