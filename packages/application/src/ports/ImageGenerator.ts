/** Images drawn from a prompt by an OpenAI-compatible server (`/images/generations`), priced per image. */
import { Context, type Effect, Schema } from "effect"
import type { ModelEndpoint } from "./LanguageModel.ts"

/** Why no image came; our own words (a status, a short error code), never the server's text. */
export class ImageGenerationFailed extends Schema.TaggedError<ImageGenerationFailed>()(
  "ImageGenerationFailed",
  {
    reason: Schema.String
  }
) {
  override get message() {
    return this.reason
  }
}

export interface ImageRequest {
  readonly model: string
  readonly prompt: string
  /** e.g. "1024x1024". */
  readonly size: string
  /** The bot's provider; absent: the env default server (OPENAI_BASE_URL, OPENAI_API_KEY). */
  readonly endpoint?: ModelEndpoint | undefined
}

export interface GeneratedImage {
  readonly bytes: Uint8Array
  /** For the upload's name: Telegram reads the type from it. */
  readonly fileName: string
  /** From the adapter's price table for the model and size; 0 for a model it has no price for. */
  readonly costUsd: number
}

export class ImageGenerator extends Context.Service<
  ImageGenerator,
  {
    readonly generate: (request: ImageRequest) => Effect.Effect<GeneratedImage, ImageGenerationFailed>
  }
>()("@botfleet/application/ImageGenerator") {}
