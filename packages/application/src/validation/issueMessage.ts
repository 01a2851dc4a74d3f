/**
 * A schema failure as a client may read it: the field's path and the rule it
 * broke (`body.email: expected an email address`), never the value sent. A
 * rejected value may be a bot token, a provider key or a password typed in the
 * wrong box, and error bodies end up in browser consoles, proxies and logs.
 *
 * Built from the issue tree, not from Effect's formatter: the words come only
 * from the schema (its `expected` / `message` annotations and its types),
 * which are written before any request exists. Messages made while decoding
 * (a filter that returns a string, a transformation's error) may quote the
 * input, so they are not used. Key names are shown, as they are the client's
 * field names rather than values.
 */
import type { SchemaAST, SchemaIssue } from "effect"

/** Failures named in one message; decoding stops at the first unless asked for all. */
const MAX_PROBLEMS = 5
/** A key name is not a value, but it is still the client's text: kept short and escaped. */
const MAX_KEY_LENGTH = 64

const IDENTIFIER = /^[A-Za-z_$][\w$]*$/

const keyText = (key: PropertyKey): string => {
  const text = typeof key === "symbol" ? (key.description ?? "symbol") : String(key)
  return JSON.stringify(text.length > MAX_KEY_LENGTH ? `${text.slice(0, MAX_KEY_LENGTH)}…` : text)
}

const pathText = (root: string, path: ReadonlyArray<PropertyKey>): string =>
  path.reduce<string>((text, key) => {
    if (typeof key === "number") return `${text}[${key}]`
    if (typeof key === "string" && IDENTIFIER.test(key)) return text === "" ? key : `${text}.${key}`
    return `${text}[${keyText(key)}]`
  }, root)

const annotation = (
  annotations: { readonly [key: string]: unknown } | undefined,
  name: "expected" | "identifier" | "message" | "messageMissingKey"
): string | undefined => {
  const value = annotations?.[name]
  return typeof value === "string" ? value : undefined
}

const checkText = (check: SchemaAST.Filter<unknown>): string | undefined =>
  annotation(check.annotations, "expected")

/** What a schema accepts, in words: its `expected` annotation, else its type (numbers with their range). */
const describe = (ast: SchemaAST.AST): string =>
  annotation(ast.annotations, "expected") ??
  annotation(ast.annotations, "identifier") ??
  (ast._tag === "Number" ? describeNumber(ast) : describeType(ast))

const allChecks = (
  checks: ReadonlyArray<SchemaAST.Check<unknown>>
): ReadonlyArray<SchemaAST.Filter<unknown>> =>
  checks.flatMap((check) => (check._tag === "FilterGroup" ? allChecks(check.checks) : [check]))

/** `an integer from 1 to 200`, from the checks' constraints (the ones Effect's number checks declare). */
const describeNumber = (ast: SchemaAST.AST): string => {
  let integer = false
  let minimum: number | undefined
  let maximum: number | undefined
  let above = false
  let below = false
  for (const check of allChecks(ast.checks ?? [])) {
    const constraint = check.annotations?.arbitraryConstraint as
      | {
          readonly number?: unknown
          readonly minimum?: unknown
          readonly maximum?: unknown
          readonly exclusiveMinimum?: unknown
          readonly exclusiveMaximum?: unknown
        }
      | undefined
    if (constraint === undefined) continue
    if (constraint.number === "integer") integer = true
    if (typeof constraint.minimum === "number" && (minimum === undefined || constraint.minimum >= minimum)) {
      minimum = constraint.minimum
      above = constraint.exclusiveMinimum === true
    }
    if (typeof constraint.maximum === "number" && (maximum === undefined || constraint.maximum <= maximum)) {
      maximum = constraint.maximum
      below = constraint.exclusiveMaximum === true
    }
  }
  const noun = integer ? "an integer" : "a number"
  if (minimum !== undefined && maximum !== undefined && !above && !below)
    return `${noun} from ${minimum} to ${maximum}`
  const bounds = [
    minimum === undefined ? undefined : above ? `greater than ${minimum}` : `of at least ${minimum}`,
    maximum === undefined ? undefined : below ? `less than ${maximum}` : `of at most ${maximum}`
  ].filter((bound) => bound !== undefined)
  return bounds.length === 0 ? noun : `${noun} ${bounds.join(" and ")}`
}

const describeType = (ast: SchemaAST.AST): string => {
  switch (ast._tag) {
    case "String":
    case "TemplateLiteral":
      return "a string"
    case "Number":
      return "a number"
    case "Boolean":
      return "true or false"
    case "BigInt":
      return "an integer"
    case "Null":
      return "null"
    case "Literal":
      return JSON.stringify(ast.literal) ?? String(ast.literal)
    case "Enum":
      return `one of ${ast.enums.map(([, value]) => JSON.stringify(value)).join(", ")}`
    case "Objects":
      return "an object"
    case "Arrays":
      return "an array"
    case "Union": {
      // An optional field is a union with undefined, which JSON cannot send: not worth naming.
      const members = ast.types.filter((member) => member._tag !== "Undefined" && member._tag !== "Void")
      if (members.length > 0 && members.every((member) => member._tag === "Literal")) {
        return `one of ${members.map(describe).join(", ")}`
      }
      return [...new Set(members.map(describe))].join(" or ") || "nothing"
    }
    case "Suspend":
      return describe(ast.thunk())
    default:
      return "a valid value"
  }
}

interface Problem {
  readonly path: ReadonlyArray<PropertyKey>
  readonly rule: string
}

interface Context {
  readonly path: ReadonlyArray<PropertyKey>
  /** The rule of the nearest failed filter: it speaks for everything under it. */
  readonly rule: string | undefined
  /** What the nearest transformation produces, for a failure it reports without words of its own. */
  readonly target: string | undefined
}

const problems = (issue: SchemaIssue.Issue, context: Context): ReadonlyArray<Problem> => {
  const { path, rule } = context
  const one = (fallback: string): ReadonlyArray<Problem> => [{ path, rule: rule ?? fallback }]
  switch (issue._tag) {
    case "Pointer":
      return problems(issue.issue, { ...context, path: [...path, ...issue.path] })
    case "Filter": {
      // The filter's own annotations were written with the schema; the inner issue's may not be.
      const message = annotation(issue.filter.annotations, "message")
      const filterRule = message ?? `expected ${checkText(issue.filter) ?? "a valid value"}`
      return problems(issue.issue, { ...context, rule: rule ?? filterRule })
    }
    case "Encoding":
      return problems(issue.issue, { ...context, target: describe(issue.ast) })
    case "Composite":
      // A number out of range or not whole: the whole rule reads better than the one check that failed.
      if (
        rule === undefined &&
        issue.ast._tag === "Number" &&
        issue.issues.every(
          (inner) => inner._tag === "Filter" && annotation(inner.filter.annotations, "message") === undefined
        )
      ) {
        return one(`expected ${describe(issue.ast)}`)
      }
      return issue.issues.flatMap((inner) => problems(inner, context))
    case "AnyOf": {
      // One applicable member says precisely what failed; several or none: name the whole union.
      const [only, ...others] = issue.issues
      return only !== undefined && others.length === 0
        ? problems(only, context)
        : one(`expected ${describe(issue.ast)}`)
    }
    case "MissingKey":
      return [{ path, rule: annotation(issue.annotations, "messageMissingKey") ?? "required" }]
    case "UnexpectedKey": {
      const key = path.at(-1)
      return [
        key === undefined
          ? { path, rule: "unexpected field" }
          : { path: path.slice(0, -1), rule: `unknown field ${keyText(key)}` }
      ]
    }
    case "InvalidType":
      return one(`expected ${describe(issue.ast)}`)
    case "InvalidValue": {
      // Only a static `expected` (Effect's own transformations set one): a runtime `message` may quote the input.
      const expected = annotation(issue.annotations, "expected") ?? context.target
      return one(expected === undefined ? "not a valid value" : `expected ${expected}`)
    }
    case "Forbidden":
      return one("not allowed here")
    case "OneOf":
      return one("matches more than one of the accepted forms")
  }
}

/**
 * `root.path: rule` for each failure (at most five, joined by `; `), e.g.
 * `body.historyLimit: expected an integer` or `body: unknown field "tokne"`.
 * `root` names where the data came from (`body`, `query`, `path`); empty for a
 * payload of its own, such as a Telegram update.
 */
export const issueMessage = (issue: SchemaIssue.Issue, root: string): string => {
  const found = problems(issue, { path: [], rule: undefined, target: undefined })
  const lines = found.map(({ path, rule }) => {
    const where = pathText(root, path)
    return where === "" ? rule : `${where}: ${rule}`
  })
  return (
    [...new Set(lines)].slice(0, MAX_PROBLEMS).join("; ") ||
    (root === "" ? "invalid value" : `${root}: invalid value`)
  )
}
