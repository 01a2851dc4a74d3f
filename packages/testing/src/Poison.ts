/**
 * Seeded, reproducible poison for property tests: values that break naive
 * code (NUL, lone surrogates, ids past 2^53, fractions, deep nesting, the
 * wrong type) and a mutator that plants them in an otherwise good JSON value.
 * The same seed gives the same cases on every machine, so a failure names
 * its seed and case and can be replayed.
 */

/** A small seeded PRNG (mulberry32): enough for test data, and the same everywhere. */
export const random = (seed: number) => {
  let state = seed >>> 0
  const next = (): number => {
    state = (state + 0x6d2b79f5) >>> 0
    let t = state
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
  const int = (max: number) => Math.floor(next() * max)
  const pick = <A>(items: ReadonlyArray<A>): A => items[int(items.length)]!
  return { next, int, pick }
}
export type Random = ReturnType<typeof random>

/** `depth` arrays, one inside the other, around `inner`. */
export const nested = (depth: number, inner: unknown = "deep"): unknown => {
  let value = inner
  for (let level = 0; level < depth; level++) value = [value]
  return value
}

/** Strings PostgreSQL or JSON tooling choke on. */
export const poisonStrings: ReadonlyArray<string> = [
  "nul \u0000 inside",
  "\u0000",
  "lone high \ud800",
  "lone low \udc00 here",
  "\udfff\ud800",
  "emoji 👋 fine",
  "",
  " ",
  "x".repeat(5_000),
  "%s%d{{}}<script>",
  "'; DROP TABLE bots; --",
  "\\u0000 escaped"
]

/** Numbers at and past every edge an id or a count has. */
export const poisonNumbers: ReadonlyArray<number> = [
  0,
  -1,
  2.5,
  -0.25,
  3.25,
  1e300,
  -1e300,
  2 ** 31,
  2 ** 52 + 1,
  2 ** 53 + 2,
  -(2 ** 53) - 2,
  2 ** 63,
  Number.MAX_SAFE_INTEGER,
  Number.MIN_SAFE_INTEGER
]

/** One value of any poisonous kind: a string, a number, or the wrong type altogether. */
export const poisonValue = (rng: Random): unknown => {
  switch (rng.int(7)) {
    case 0:
    case 1:
      return rng.pick(poisonStrings)
    case 2:
    case 3:
      return rng.pick(poisonNumbers)
    case 4:
      return rng.pick([null, true, false, [], {}, [1, "a"], { nested: { deeper: "\u0000" } }])
    case 5:
      return nested(rng.pick([40, 200, 5_000]))
    default:
      return { [rng.pick(poisonStrings)]: rng.pick(poisonStrings) }
  }
}

/** Every path to a value inside `value` (objects and arrays) up to 12 levels down, the root excluded. */
const pathsOf = (value: unknown, prefix: ReadonlyArray<string | number> = []) => {
  const paths: Array<ReadonlyArray<string | number>> = []
  if (typeof value === "object" && value !== null && prefix.length < 12) {
    for (const [key, item] of Object.entries(value)) {
      const path = [...prefix, Array.isArray(value) ? Number(key) : key]
      paths.push(path, ...pathsOf(item, path))
    }
  }
  return paths
}

const setAt = (
  value: unknown,
  path: ReadonlyArray<string | number>,
  replace: (old: unknown) => unknown
): unknown => {
  if (path.length === 0) return replace(value)
  const [head, ...rest] = path
  if (Array.isArray(value)) {
    return value.map((item, index) => (index === head ? setAt(item, rest, replace) : item))
  }
  if (typeof value === "object" && value !== null) {
    const copy: Record<string, unknown> = { ...value }
    copy[head as string] = setAt(copy[head as string], rest, replace)
    return copy
  }
  return value
}

const removeAt = (value: unknown, path: ReadonlyArray<string | number>): unknown => {
  const last = path[path.length - 1]
  return setAt(value, path.slice(0, -1), (parent) => {
    if (Array.isArray(parent)) return parent.filter((_, index) => index !== last)
    if (typeof parent !== "object" || parent === null) return parent
    const { [String(last)]: _removed, ...rest } = parent as Record<string, unknown>
    return rest
  })
}

/**
 * A copy of `value` with 1 to 3 mutations: a value replaced by poison, a
 * field removed, a field added (possibly with a poisonous name), or a value
 * turned into another type. `value` itself is not changed (paths are copied).
 */
export const mutate = (value: unknown, rng: Random): unknown => {
  let result: unknown = value
  const count = 1 + rng.int(3)
  for (let step = 0; step < count; step++) {
    const paths = pathsOf(result)
    if (paths.length === 0) return poisonValue(rng)
    const path = rng.pick(paths)
    switch (rng.int(4)) {
      case 0:
      case 1:
        result = setAt(result, path, () => poisonValue(rng))
        break
      case 2:
        result = removeAt(result, path)
        break
      default:
        result = setAt(result, path.slice(0, -1), (parent) =>
          typeof parent === "object" && parent !== null && !Array.isArray(parent)
            ? {
                ...parent,
                [rng.pick(["extra", "sytemPrompt", "__proto__", "\u0000key", "k\ud800"])]: poisonValue(rng)
              }
            : poisonValue(rng)
        )
    }
  }
  return result
}

/**
 * JSON text for a value `JSON.stringify` cannot write: a chain of thousands of
 * nested arrays (see `nested`) is written without recursing into each level.
 */
export const toJsonText = (value: unknown): string => {
  let depth = 0
  let inner = value
  while (Array.isArray(inner) && inner.length === 1) {
    depth++
    inner = inner[0]
  }
  if (depth > 1) return `${"[".repeat(depth)}${toJsonText(inner)}${"]".repeat(depth)}`
  if (Array.isArray(value)) return `[${value.map(toJsonText).join(",")}]`
  if (typeof value === "object" && value !== null) {
    const fields = Object.entries(value).filter(([, item]) => item !== undefined)
    return `{${fields.map(([key, item]) => `${JSON.stringify(key)}:${toJsonText(item)}`).join(",")}}`
  }
  return JSON.stringify(value) ?? "null"
}

/**
 * Percent-encodes like `encodeURIComponent`, except that a lone surrogate
 * (which that refuses) is sent as the invalid UTF-8 bytes a careless client
 * would produce (`%ED%A0%80` for U+D800).
 */
export const toUrlComponent = (text: string): string =>
  [...text]
    .map((char) => {
      const code = char.charCodeAt(0)
      if (char.length === 1 && code >= 0xd800 && code <= 0xdfff) {
        const bytes = [0xe0 | (code >> 12), 0x80 | ((code >> 6) & 0x3f), 0x80 | (code & 0x3f)]
        return bytes.map((byte) => `%${byte.toString(16).toUpperCase()}`).join("")
      }
      return encodeURIComponent(char)
    })
    .join("")
