/** Telegram's limit for one message's text. */
export const TELEGRAM_TEXT_LIMIT = 4096

/**
 * Splits a reply into messages Telegram accepts, preferring to cut at a
 * paragraph, then a line, then a sentence, then a word; only a single
 * unbroken run longer than the limit is cut mid-word.
 */
export const splitReply = (text: string, limit = TELEGRAM_TEXT_LIMIT): Array<string> => {
  const chunks: Array<string> = []
  let rest = text.trim()
  while (rest.length > limit) {
    const window = rest.slice(0, limit)
    const cut = lastBoundary(window)
    chunks.push(rest.slice(0, cut).trimEnd())
    rest = rest.slice(cut).trimStart()
  }
  if (rest.length > 0 || chunks.length === 0) chunks.push(rest)
  return chunks
}

const boundaries: ReadonlyArray<RegExp> = [/\n\s*\n/g, /\n/g, /[.!?…](?=\s)/g, /\s/g]

/** Where to cut `window`: after the last boundary of the best kind past its first third. */
const lastBoundary = (window: string): number => {
  const minimum = Math.floor(window.length / 3)
  for (const pattern of boundaries) {
    let best = -1
    for (const match of window.matchAll(pattern)) {
      const end = match.index + match[0].length
      if (end > minimum) best = end
    }
    if (best > 0) return best
  }
  return window.length
}
