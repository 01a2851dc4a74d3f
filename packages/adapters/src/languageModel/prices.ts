/**
 * What a completion costs: USD per million tokens, input and output, per model.
 * The built-in table can be extended or corrected without a release through
 * `OPENAI_PRICES` (`model=input/output,model2=input/output`).
 */
import { Result, Schema } from "effect"

export interface ModelPrice {
  /** USD per million input (prompt) tokens. */
  readonly input: number
  /** USD per million output (completion) tokens. */
  readonly output: number
}

/** Keyed by model name; a Map so that names like "constructor" cannot hit Object's prototype. */
export type PriceTable = ReadonlyMap<string, ModelPrice>

/** OpenAI list prices (standard tier) at the time of writing. */
export const defaultPrices: PriceTable = new Map<string, ModelPrice>([
  ["gpt-5", { input: 1.25, output: 10 }],
  ["gpt-5-mini", { input: 0.25, output: 2 }],
  ["gpt-5-nano", { input: 0.05, output: 0.4 }],
  ["gpt-4.1", { input: 2, output: 8 }],
  ["gpt-4.1-mini", { input: 0.4, output: 1.6 }],
  ["gpt-4.1-nano", { input: 0.1, output: 0.4 }],
  ["gpt-4o", { input: 2.5, output: 10 }],
  ["gpt-4o-mini", { input: 0.15, output: 0.6 }],
  ["gpt-4-turbo", { input: 10, output: 30 }],
  ["gpt-3.5-turbo", { input: 0.5, output: 1.5 }],
  ["o1", { input: 15, output: 60 }],
  ["o1-mini", { input: 1.1, output: 4.4 }],
  ["o3", { input: 2, output: 8 }],
  ["o3-mini", { input: 1.1, output: 4.4 }],
  ["o4-mini", { input: 1.1, output: 4.4 }],
  // Embeddings: input tokens only.
  ["text-embedding-3-small", { input: 0.02, output: 0 }],
  ["text-embedding-3-large", { input: 0.13, output: 0 }],
  ["text-embedding-ada-002", { input: 0.1, output: 0 }]
])

export class InvalidPrices extends Schema.TaggedError<InvalidPrices>()("InvalidPrices", {
  entry: Schema.String,
  reason: Schema.String
}) {
  override get message() {
    return `invalid price entry "${this.entry}": ${this.reason} (expected model=input/output in USD per million tokens, e.g. gpt-4o-mini=0.15/0.60)`
  }
}

// Plain decimals only: Number() would also accept "", "0x10", "1e3" and "Infinity".
const DECIMAL = /^(\d+(\.\d*)?|\.\d+)$/

const parseEntry = (entry: string): Result.Result<readonly [string, ModelPrice], InvalidPrices> => {
  const fail = (reason: string) => Result.fail(new InvalidPrices({ entry, reason }))
  const equals = entry.indexOf("=")
  if (equals === -1) return fail("missing '='")
  const model = entry.slice(0, equals).trim()
  if (model === "") return fail("missing model name")
  if (/\s/.test(model)) return fail("model name contains whitespace")
  const amounts = entry
    .slice(equals + 1)
    .split("/")
    .map((part) => part.trim())
  if (amounts.length !== 2) return fail("expected two prices separated by '/'")
  const [input, output] = amounts as [string, string]
  if (!DECIMAL.test(input)) return fail(`input price "${input}" is not a non-negative decimal number`)
  if (!DECIMAL.test(output)) return fail(`output price "${output}" is not a non-negative decimal number`)
  return Result.succeed([model, { input: Number(input), output: Number(output) }] as const)
}

/**
 * Parses `model=input/output,model2=input/output` into a table of just those
 * entries. Blank input and empty entries (a trailing comma) are allowed; a
 * repeated model keeps its last price.
 */
export const parsePrices = (text: string): Result.Result<PriceTable, InvalidPrices> => {
  const table = new Map<string, ModelPrice>()
  for (const raw of text.split(",")) {
    const entry = raw.trim()
    if (entry === "") continue
    const parsed = parseEntry(entry)
    if (Result.isFailure(parsed)) return Result.fail(parsed.failure)
    table.set(parsed.success[0], parsed.success[1])
  }
  return Result.succeed(table)
}

/** The built-in table with the entries of `overrides` (e.g. `OPENAI_PRICES`) added or replaced. */
export const pricesWithOverrides = (
  overrides: string | undefined,
  base: PriceTable = defaultPrices
): Result.Result<PriceTable, InvalidPrices> =>
  overrides === undefined
    ? Result.succeed(base)
    : Result.map(parsePrices(overrides), (parsed) => new Map([...base, ...parsed]))

/**
 * The price of a model: exact name first, then the longest known prefix, so
 * dated snapshots ("gpt-4o-mini-2024-07-18") cost what their family costs.
 * Router-style names ("openai/gpt-4o-mini") are also tried without the vendor.
 */
export const priceOf = (model: string, prices: PriceTable = defaultPrices): ModelPrice | undefined => {
  const slash = model.lastIndexOf("/")
  const candidates = slash === -1 ? [model] : [model, model.slice(slash + 1)]
  for (const name of candidates) {
    const exact = prices.get(name)
    if (exact !== undefined) return exact
  }
  for (const name of candidates) {
    let best: string | undefined
    for (const known of prices.keys()) {
      if (name.startsWith(known) && (best === undefined || known.length > best.length)) best = known
    }
    if (best !== undefined) return prices.get(best)
  }
  return undefined
}

/**
 * Cost in USD of one completion. An unknown model costs 0: local and
 * self-hosted models are free to us, and a missing price must not fail a
 * reply; add the price to `OPENAI_PRICES` to count it.
 */
export const costOf = (
  model: string,
  inputTokens: number,
  outputTokens: number,
  prices: PriceTable = defaultPrices
): number => {
  const price = priceOf(model, prices)
  if (price === undefined) return 0
  return (inputTokens * price.input + outputTokens * price.output) / 1_000_000
}
