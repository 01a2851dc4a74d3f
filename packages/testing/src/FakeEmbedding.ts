/**
 * Deterministic stand-in embeddings: each word (lower-cased, crudely stemmed)
 * is hashed to a few signed dimensions and the sum normalised, so texts that
 * share words are close. It models lexical overlap, not meaning: a recall
 * figure measured with it says the vector path works, not how a real model ranks.
 */

export const DEFAULT_DIMENSIONS = 64

export const words = (text: string): ReadonlyArray<string> =>
  (text.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? []).map((word) =>
    word.length > 4 ? word.replace(/(ing|ed|es|s)$/, "") : word
  )

/** FNV-1a, 32 bits. */
const hash = (text: string, seed: number) => {
  let h = 0x811c9dc5 ^ seed
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i)
    h = Math.imul(h, 0x01000193)
  }
  return h >>> 0
}

export const fakeEmbedding = (text: string, dimensions: number = DEFAULT_DIMENSIONS): Array<number> => {
  const vector = new Array<number>(dimensions).fill(0)
  for (const word of words(text)) {
    for (let seed = 0; seed < 3; seed++) {
      const h = hash(word, seed)
      vector[h % dimensions] = (vector[h % dimensions] ?? 0) + (h & 0x80000000 ? -1 : 1)
    }
  }
  const norm = Math.sqrt(vector.reduce((sum, x) => sum + x * x, 0))
  return norm === 0 ? vector : vector.map((x) => x / norm)
}
