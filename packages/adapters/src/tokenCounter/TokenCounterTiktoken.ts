/**
 * TokenCounter with OpenAI's own encodings (`gpt-tokenizer`: o200k_base for
 * gpt-4o, gpt-4.1, gpt-5 and the o-series, cl100k_base for gpt-4 and
 * gpt-3.5) and the domain's estimate for models it does not know.
 *
 * Measured (one loaded core, messages of 330 characters): counting costs
 * 24 µs a message warm (58 µs cold), a remembered count well under 1 µs.
 * A history of 20 messages is then 0.5 ms counted against a few µs
 * remembered, so stored messages' counts are kept by id (an LRU of two
 * generations): the counting costs far less than the history read it rides on. Loading an encoding's tables takes
 * about 1.5 s, so each is loaded on first use (synchronously, through
 * require) rather than at startup: a fleet of local models never pays it,
 * and a history that fits by its bytes (pipeline/reply/history.ts) is never
 * counted (measured in a process's first replies: ~310 ms of CPU and 38 MB).
 */
import { createRequire } from "node:module"
import { TokenCounter } from "@botfleet/application"
import { encodingOf, estimateTokens, type TokenEncoding } from "@botfleet/domain"
import { Layer } from "effect"

/** Stored messages' counts kept; an entry is a few dozen bytes. */
export const REMEMBERED_COUNTS = 50_000

interface Encoder {
  readonly countTokens: (text: string, options: { readonly disallowedSpecial: Set<string> }) => number
}

const require = createRequire(import.meta.url)
const encoders = new Map<TokenEncoding, Encoder>()

const encoderOf = (encoding: TokenEncoding): Encoder => {
  let encoder = encoders.get(encoding)
  if (encoder === undefined) {
    encoder = require(`gpt-tokenizer/cjs/encoding/${encoding}`) as Encoder
    encoders.set(encoding, encoder)
  }
  return encoder
}

// A user may type "<|endoftext|>": it is text to us, counted as the API counts it.
const AS_TEXT = { disallowedSpecial: new Set<string>() }

const countWith = (encoding: TokenEncoding | null, text: string): number =>
  encoding === null ? estimateTokens(text) : encoderOf(encoding).countTokens(text, AS_TEXT)

interface Remembered {
  readonly length: number
  readonly tokens: number
}

/**
 * A counter remembering about `capacity` stored messages' counts, least
 * recently used first to go: two generations of maps, the newer one taking
 * every count and hit until it is full, then becoming the older one. A hit
 * costs one or two lookups and no reordering.
 */
export const make = (capacity = REMEMBERED_COUNTS): TokenCounter["Service"] => {
  const half = Math.max(1, Math.floor(capacity / 2))
  // Per encoding: a message's count differs between tokenizers.
  const generations = new Map<string, { young: Map<string, Remembered>; old: Map<string, Remembered> }>()
  const remember = (encoding: string, key: string, value: Remembered) => {
    let cache = generations.get(encoding)
    if (cache === undefined) {
      cache = { young: new Map(), old: new Map() }
      generations.set(encoding, cache)
    }
    if (cache.young.size >= half) {
      cache.old = cache.young
      cache.young = new Map()
    }
    cache.young.set(key, value)
  }
  return TokenCounter.of({
    count: (model, text) => countWith(encodingOf(model), text),
    countStored: (model, key, text) => {
      const encoding = encodingOf(model)
      const name = encoding ?? "estimate"
      const cache = generations.get(name)
      const young = cache?.young.get(key)
      if (young !== undefined && young.length === text.length) return young.tokens
      const old = cache?.old.get(key)
      if (old !== undefined && old.length === text.length) {
        remember(name, key, old)
        return old.tokens
      }
      const tokens = countWith(encoding, text)
      remember(name, key, { length: text.length, tokens })
      return tokens
    }
  })
}

export const layer: Layer.Layer<TokenCounter> = Layer.sync(TokenCounter, () => make())
