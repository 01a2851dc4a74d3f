/**
 * An LLM provider: any OpenAI-compatible server with its own key,
 * which some bots use instead of the env default (OPENAI_*). The key is kept
 * encrypted; admins see only its hint.
 */
import { Effect, Schema } from "effect"
import { ProviderId } from "./ids.ts"

/** USD per million input and output tokens, as in OPENAI_PRICES. */
export const ModelPrice = Schema.Struct({
  input: Schema.Finite.check(Schema.isGreaterThanOrEqualTo(0)),
  output: Schema.Finite.check(Schema.isGreaterThanOrEqualTo(0))
})
export type ModelPrice = typeof ModelPrice.Type

/** Per model name; they add to (or correct) the built-in table for this provider's replies. */
export const ModelPrices = Schema.Record(Schema.String, ModelPrice)
export type ModelPrices = typeof ModelPrices.Type

export class Provider extends Schema.Class<Provider>("Provider")({
  id: ProviderId,
  name: Schema.String,
  /** The API root, e.g. `http://127.0.0.1:11434/v1`; `/chat/completions` and `/models` are below it. */
  baseUrl: Schema.String,
  apiKeyCiphertext: Schema.String,
  /** "…wxyz": enough for an admin to recognise the key. */
  apiKeyHint: Schema.String,
  /** The model of this provider's bots that do not name one; null: the bot must name one (or OPENAI_MODEL). */
  defaultModel: Schema.NullOr(Schema.String),
  prices: ModelPrices.pipe(Schema.withConstructorDefault(Effect.succeed<ModelPrices>({}))),
  createdAt: Schema.Date,
  updatedAt: Schema.Date
}) {}

export const PROVIDER_NAME_MAX = 64

/** The last four characters only, and none of a key too short to hide anything. */
export const apiKeyHint = (key: string): string => (key.length >= 12 ? `…${key.slice(-4)}` : "…")

/** One spelling per server: no trailing slash, so `${baseUrl}/models` is right. */
export const normalizeBaseUrl = (url: string): string => url.trim().replace(/\/+$/, "")
