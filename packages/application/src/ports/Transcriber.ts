/**
 * Speech to text (conversations): an OpenAI-compatible
 * `/audio/transcriptions`. The adapter owns timeouts, retries of retryable
 * errors and pricing; `maxSeconds` is the longest recording it takes
 * (VOICE_MAX_SECONDS).
 */
import { Context, type Effect, Schema } from "effect"

export interface TranscriptionInput {
  readonly audio: Uint8Array
  /** With an extension the server recognises (e.g. `voice.ogg`). */
  readonly fileName: string
  readonly durationSeconds: number
}

export interface Transcript {
  readonly text: string
  readonly model: string
  readonly costUsd: number
}

export const TranscriptionErrorKind = Schema.Literals([
  "auth",
  "quota",
  "rate_limited",
  "timeout",
  "unavailable",
  "bad_request"
])

export class TranscriptionError extends Schema.TaggedError<TranscriptionError>()("TranscriptionError", {
  kind: TranscriptionErrorKind,
  model: Schema.String,
  description: Schema.String,
  retryAfterSeconds: Schema.NullOr(Schema.Number)
}) {
  override get message() {
    return `transcription with ${this.model} failed (${this.kind}): ${this.description}`
  }
  get isRetryable(): boolean {
    return this.kind === "rate_limited" || this.kind === "timeout" || this.kind === "unavailable"
  }
}

export class Transcriber extends Context.Service<
  Transcriber,
  {
    readonly maxSeconds: number
    readonly transcribe: (input: TranscriptionInput) => Effect.Effect<Transcript, TranscriptionError>
  }
>()("@botfleet/application/Transcriber") {}
