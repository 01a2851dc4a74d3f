/**
 * A provider's prices as people write them, the way OPENAI_PRICES is written:
 * `model=input/output` in USD per million tokens, one per line (or separated
 * by commas). The API takes `{ model: { input, output } }`.
 */

/** `{ "llama3.1": { input: 0.1, output: 0.2 } }` → "llama3.1=0.1/0.2", one per line. */
export const pricesText = (prices) =>
  Object.entries(prices ?? {})
    .map(([model, price]) => `${model}=${price.input}/${price.output}`)
    .join("\n")

// Plain decimals only, as the server's OPENAI_PRICES reader takes them.
const DECIMAL = /^(\d+(\.\d*)?|\.\d+)$/

/** `{ prices }`, or `{ error }` naming the entry that is wrong. */
export const parsePrices = (text) => {
  const prices = {}
  for (const raw of text.split(/[\n,]/)) {
    const entry = raw.trim()
    if (entry === "") continue
    const equals = entry.indexOf("=")
    const model = entry.slice(0, equals).trim()
    const amounts = entry
      .slice(equals + 1)
      .split("/")
      .map((part) => part.trim())
    if (equals <= 0 || model === "" || /\s/.test(model)) {
      return { error: `"${entry}": expected model=input/output, e.g. llama3.1=0.10/0.20` }
    }
    if (amounts.length !== 2 || !amounts.every((amount) => DECIMAL.test(amount))) {
      return { error: `"${entry}": the two prices must be plain numbers, e.g. ${model}=0.10/0.20` }
    }
    prices[model] = { input: Number(amounts[0]), output: Number(amounts[1]) }
  }
  return { prices }
}
