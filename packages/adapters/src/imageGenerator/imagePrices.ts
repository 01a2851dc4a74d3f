/**
 * USD per image by model and size, from OpenAI's price list (December 2026).
 * gpt-image models are asked for "medium" quality (imageGeneratorOpenAI.ts),
 * so their medium prices apply; DALL·E at its standard quality.
 */
const PRICES: Readonly<Record<string, Readonly<Record<string, number>>>> = {
  "gpt-image-1": { "1024x1024": 0.042, "1024x1536": 0.063, "1536x1024": 0.063 },
  "gpt-image-1-mini": { "1024x1024": 0.011, "1024x1536": 0.015, "1536x1024": 0.015 },
  "dall-e-3": { "1024x1024": 0.04, "1024x1792": 0.08, "1792x1024": 0.08 },
  "dall-e-2": { "256x256": 0.016, "512x512": 0.018, "1024x1024": 0.02 }
}

/** A dated snapshot ("gpt-image-1-2025-04-15") is priced as its model; unknown: null. */
export const imagePriceOf = (model: string, size: string): number | null => {
  const name = model.toLowerCase().replace(/-\d{4}-\d{2}-\d{2}$/, "")
  return PRICES[name]?.[size] ?? null
}

/** gpt-image models take a quality; "medium" keeps the price table true (their default, auto, may pick high). */
export const qualityFor = (model: string): string | undefined =>
  model.toLowerCase().startsWith("gpt-image") ? "medium" : undefined
