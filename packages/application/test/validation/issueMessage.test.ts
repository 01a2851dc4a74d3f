import { assert, describe, it } from "@effect/vitest"
import { Result, Schema, SchemaIssue } from "effect"
import { issueMessage } from "../../src/validation/issueMessage.ts"

const SECRET = "sk-live-MARKER-4f9a1c2b7e3d"

/** Decoded with `reportInput: true`: every issue node carries the rejected value, as a careless setting would. */
const failure = (schema: Schema.Top, input: unknown) => {
  const result = Schema.decodeUnknownResult(schema as Schema.Codec<unknown, unknown>)(input, {
    reportInput: true,
    onExcessProperty: "error",
    errors: "all"
  })
  assert.isTrue(Result.isFailure(result))
  return (result as Result.Failure<unknown, Schema.SchemaError>).failure.issue
}

/** A filter written carelessly: its message quotes the input. */
const Loud = Schema.String.check(
  Schema.makeFilter((text: string) => (text.startsWith("ok") ? undefined : `got ${text}, expected ok...`), {
    expected: "a string starting with ok"
  })
)

const Form = Schema.Struct({
  apiKey: Loud,
  count: Schema.optional(Schema.Int.check(Schema.isBetween({ minimum: 1, maximum: 200 }))),
  email: Schema.String.check(Schema.isPattern(/^[^@\s]+@[^@\s]+$/, { expected: "an email address" })),
  nested: Schema.optional(Schema.Struct({ ids: Schema.Array(Schema.Int) })),
  mode: Schema.optional(Schema.Literals(["open", "allowlist"]))
})

describe("issueMessage", () => {
  it("names each field and its rule, where Effect's own formatter quotes the values", () => {
    const issue = failure(Form, {
      apiKey: SECRET,
      count: `${SECRET}-count`,
      email: `${SECRET} at example.com`,
      nested: { ids: [1, `${SECRET}-id`] },
      mode: `${SECRET}-mode`
    })
    // The attack: the default formatter, with inputs reported, echoes the key.
    assert.include(SchemaIssue.makeFormatterDefault()(issue), SECRET)
    const message = issueMessage(issue, "body")
    assert.notInclude(message, SECRET)
    assert.notInclude(message, "MARKER")
    assert.strictEqual(
      message,
      [
        "body.apiKey: expected a string starting with ok",
        "body.count: expected an integer from 1 to 200",
        "body.email: expected an email address",
        "body.nested.ids[1]: expected an integer",
        'body.mode: expected one of "open", "allowlist"'
      ].join("; ")
    )
  })

  it("names an unknown field by its name and a missing one as required", () => {
    assert.strictEqual(
      issueMessage(failure(Form, { apiKey: "ok", email: "a@b", tokne: SECRET }), "body"),
      'body: unknown field "tokne"'
    )
    assert.strictEqual(issueMessage(failure(Form, { email: "a@b" }), "body"), "body.apiKey: required")
    assert.strictEqual(issueMessage(failure(Form, SECRET), "body"), "body: expected an object")
  })

  it("a transformation's own words are not used: they may quote the input", () => {
    const issue = failure(Schema.Struct({ n: Schema.NumberFromString.check(Schema.isInt()) }), { n: SECRET })
    const message = issueMessage(issue, "query")
    assert.notInclude(message, SECRET)
    assert.strictEqual(message, "query.n: expected an integer")
    const json = failure(Schema.Struct({ doc: Schema.fromJsonString(Schema.Unknown) }), { doc: `{${SECRET}` })
    assert.strictEqual(issueMessage(json, "body"), "body.doc: expected a valid JSON string")
  })

  it("keys that are not identifiers are quoted and cut short", () => {
    const prices = Schema.Record(Schema.String, Schema.Struct({ input: Schema.Finite }))
    const long = "k".repeat(100)
    const message = issueMessage(
      failure(prices, { "gpt-4o": { input: "x" }, [long]: { input: 1 } }),
      "body.prices"
    )
    assert.strictEqual(message, 'body.prices["gpt-4o"].input: expected a number')
    assert.strictEqual(
      issueMessage(failure(prices, { [`${long}\n`]: { input: "x" } }), ""),
      `[${JSON.stringify(`${"k".repeat(64)}…`)}].input: expected a number`
    )
  })
})
