/**
 * Text to speech for voice answers: an OpenAI-compatible `/audio/speech` on
 * the bot's provider (or the env default). The adapter owns timeouts,
 * retries of retryable errors and pricing; the pipeline decides what to
 * speak and falls back to text when speech fails.
 */
import { Context, type Effect, Schema } from "effect"
import { LlmErrorKind, type ModelEndpoint } from "./LanguageModel.ts"

export interface SpeechRequest {
  readonly model: string
  readonly voice: string
  /** Plain text, at most `SPEECH_INPUT_LIMIT` characters. */
  readonly input: string
  /** Absent: the env default (OPENAI_BASE_URL, OPENAI_API_KEY). */
  readonly endpoint?: ModelEndpoint | undefined
}

export interface Speech {
  readonly audio: Uint8Array
  /**
   * ogg_opus: a voice note as Telegram plays it (as the server answered, or
   * encoded from its WAV/PCM). other: a format the adapter cannot decode
   * (MP3...), even when asked again for WAV; sent as an audio file instead.
   */
  readonly format: "ogg_opus" | "other"
  /** The file name to upload it as, with its extension. */
  readonly fileName: string
  readonly model: string
  readonly costUsd: number
}

export class SpeechError extends Schema.TaggedError<SpeechError>()("SpeechError", {
  kind: LlmErrorKind,
  model: Schema.String,
  description: Schema.String
}) {
  override get message() {
    return `speech with ${this.model} failed (${this.kind}): ${this.description}`
  }
}

export class SpeechSynthesizer extends Context.Service<
  SpeechSynthesizer,
  { readonly synthesize: (request: SpeechRequest) => Effect.Effect<Speech, SpeechError> }
>()("@botfleet/application/SpeechSynthesizer") {}
