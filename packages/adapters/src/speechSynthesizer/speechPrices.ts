/**
 * What speech costs: USD per million input characters, per model. OpenAI
 * prices tts-1 and tts-1-hd per character; gpt-4o-mini-tts per token (text
 * in, audio out) with its own estimate of $0.015 a minute, which at about
 * 1,000 characters a spoken minute is $15 per million characters. The
 * `/audio/speech` answer carries no usage, so characters are what we count.
 */
export const SPEECH_PRICES: ReadonlyMap<string, number> = new Map([
  ["gpt-4o-mini-tts", 15],
  ["tts-1", 15],
  ["tts-1-hd", 30]
])

/** An unknown model costs 0, as unknown chat models do (self-hosted servers are free to us). */
export const speechCost = (model: string, characters: number): number => {
  const slash = model.lastIndexOf("/")
  const price =
    SPEECH_PRICES.get(model) ?? (slash === -1 ? undefined : SPEECH_PRICES.get(model.slice(slash + 1)))
  return ((price ?? 0) * characters) / 1_000_000
}
