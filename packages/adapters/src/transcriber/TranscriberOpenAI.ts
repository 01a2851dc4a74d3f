/**
 * Speech to text through the `openai` SDK's `/audio/transcriptions`
 * (conversations): OpenAI or any compatible server. The same error
 * classification, retries and timeouts as the chat model; the key never
 * appears in an error.
 */
import {
  Transcriber,
  TranscriptionError,
  type TranscriptionError as TranscriptionErrorType,
  type TranscriptionInput
} from "@botfleet/application"
import { Duration, Effect, Layer, Redacted } from "effect"
import type OpenAI from "openai"
import { APIConnectionTimeoutError } from "openai/error"
import { classify, retrySchedule } from "../languageModel/LanguageModelOpenAI.ts"

export interface TranscriberOpenAIOptions {
  readonly apiKey: Redacted.Redacted<string> | undefined
  readonly baseUrl: URL | undefined
  /** OPENAI_TRANSCRIBE_MODEL. */
  readonly model: string
  /** VOICE_MAX_SECONDS. */
  readonly maxSeconds: number
  /** Per attempt; default 60 seconds. */
  readonly requestTimeout?: Duration.Input | undefined
  /** Retries after the first attempt; default 2. */
  readonly maxRetries?: number | undefined
}

/** USD per minute of audio; unknown models cost 0 (as unknown chat models do). */
export const TRANSCRIBE_PRICES: ReadonlyMap<string, number> = new Map([
  ["gpt-4o-mini-transcribe", 0.003],
  ["gpt-4o-transcribe", 0.006],
  ["whisper-1", 0.006]
])

export const transcriptionCost = (model: string, seconds: number): number =>
  ((TRANSCRIBE_PRICES.get(model) ?? 0) * seconds) / 60

export const make = (options: TranscriberOpenAIOptions): Transcriber["Service"] => {
  const requestTimeout = Duration.fromInputUnsafe(options.requestTimeout ?? Duration.seconds(60))
  const secret = options.apiKey === undefined ? undefined : Redacted.value(options.apiKey)
  const scrub = (text: string) => (secret ? text.split(secret).join("[redacted]") : text)
  // The SDK (about 30 MB of memory per thread once loaded) is loaded on the first recording.
  let loaded:
    | Promise<{ readonly client: OpenAI; readonly toFile: typeof import("openai").toFile }>
    | undefined
  const sdk = () => {
    loaded ??= import("openai").then(({ default: OpenAISdk, toFile }) => ({
      client: new OpenAISdk({
        apiKey: secret || "no-api-key-configured",
        baseURL: options.baseUrl?.href ?? "https://api.openai.com/v1",
        timeout: Duration.toMillis(requestTimeout),
        maxRetries: 0,
        logLevel: "off"
      }),
      toFile
    }))
    return loaded
  }
  const model = options.model

  const attempt = (input: TranscriptionInput) =>
    Effect.tryPromise({
      try: async (signal) => {
        const { client, toFile } = await sdk()
        return client.audio.transcriptions.create(
          { file: await toFile(input.audio, input.fileName), model, response_format: "json" },
          { signal }
        )
      },
      catch: (cause) => classify(cause, model, scrub)
    }).pipe(
      Effect.timeoutOrElse({
        duration: requestTimeout,
        orElse: () => Effect.fail(classify(new APIConnectionTimeoutError(), model, scrub))
      })
    )

  const transcribe = Effect.fn("Transcriber.transcribe", { kind: "client" })(function* (
    input: TranscriptionInput
  ) {
    yield* Effect.annotateCurrentSpan({
      "transcription.model": model,
      "audio.seconds": input.durationSeconds
    })
    const result = yield* attempt(input).pipe(
      Effect.retry(retrySchedule(Math.max(0, options.maxRetries ?? 2))),
      Effect.mapError(
        ({ error }): TranscriptionErrorType =>
          new TranscriptionError({
            kind: error.kind,
            model,
            description: error.description,
            retryAfterSeconds: error.retryAfterSeconds
          })
      )
    )
    return { text: result.text ?? "", model, costUsd: transcriptionCost(model, input.durationSeconds) }
  })

  return Transcriber.of({ maxSeconds: options.maxSeconds, transcribe })
}

export const layer = (options: TranscriberOpenAIOptions): Layer.Layer<Transcriber> =>
  Layer.sync(Transcriber, () => make(options))
