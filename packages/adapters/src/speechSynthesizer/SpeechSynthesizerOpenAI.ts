/**
 * `POST {baseUrl}/audio/speech` of any OpenAI-compatible server, asking for
 * `response_format: "opus"` (OpenAI answers Ogg Opus, what a Telegram voice
 * note is). A server that answers WAV or raw PCM instead gets it encoded to
 * Ogg Opus here (opusEncoder.ts). One that answers a format we cannot decode
 * (MP3, AAC…) is asked once more for `"wav"`, which OpenAI-compatible servers
 * offer; if that does not give PCM either, the first answer is sent as an
 * audio file.
 *
 * A provider's server (a URL an admin supplied) is reached through the
 * guarded outbound client; the operator's own OPENAI_BASE_URL directly, as
 * chat replies and embeddings are. Failures have the chat model's kinds;
 * rate limits, timeouts and outages are retried twice. The key never appears
 * in an error, and a provider's words are not quoted.
 */

import type { LlmErrorKind } from "@botfleet/application"
import {
  OutboundHttp,
  type Speech,
  SpeechError,
  type SpeechRequest,
  SpeechSynthesizer
} from "@botfleet/application"
import { Effect, Layer, Redacted, Schedule } from "effect"
import { encodeOggOpus } from "./opusEncoder.ts"
import { toPcm } from "./pcm.ts"
import { speechCost } from "./speechPrices.ts"

export interface SpeechSynthesizerOpenAIOptions {
  /** The env default provider (OPENAI_API_KEY, OPENAI_BASE_URL). */
  readonly apiKey?: Redacted.Redacted<string> | undefined
  readonly baseUrl?: string | undefined
  /** Per attempt; default 60 seconds (a long answer takes OpenAI 10–20 s). */
  readonly timeoutMs?: number | undefined
  /** Retries after the first attempt; default 2. */
  readonly maxRetries?: number | undefined
}

const DEFAULT_BASE_URL = "https://api.openai.com/v1"
/** 4,096 characters of Opus are well under 2 MB; a voice note may be 50 MB at most. */
const MAX_AUDIO_BYTES = 20 * 1024 * 1024

const OGG_MAGIC = [0x4f, 0x67, 0x67, 0x53] // "OggS"

export const isOgg = (audio: Uint8Array): boolean => OGG_MAGIC.every((byte, index) => audio[index] === byte)

/** What another format's file is called, so Telegram's player recognises it. */
const extensionOf = (contentType: string | undefined): string => {
  const type = (contentType ?? "").split(";")[0]!.trim().toLowerCase()
  if (type === "audio/mpeg" || type === "audio/mp3") return "mp3"
  if (type === "audio/wav" || type === "audio/x-wav" || type === "audio/wave") return "wav"
  if (type === "audio/aac") return "aac"
  if (type === "audio/flac") return "flac"
  if (type === "audio/mp4" || type === "audio/m4a") return "m4a"
  return "mp3"
}

/** As the chat model's errors are classified (LanguageModelOpenAI.ts `classify`). */
const kindOfStatus = (status: number, body: string): LlmErrorKind => {
  if (status === 401 || status === 403) return "auth"
  if (status === 429) return body.includes("insufficient_quota") ? "quota" : "rate_limited"
  if (status === 408) return "timeout"
  if (status === 409 || status >= 500) return "unavailable"
  return "bad_request"
}

const RETRYABLE: ReadonlySet<LlmErrorKind> = new Set(["rate_limited", "timeout", "unavailable"])

interface Answer {
  readonly status: number
  readonly contentType: string | undefined
  readonly body: Uint8Array
}

export const make = Effect.gen(function* () {
  const outbound = yield* OutboundHttp
  return (options: SpeechSynthesizerOpenAIOptions) => {
    const timeoutMs = options.timeoutMs ?? 60_000
    const schedule = Schedule.exponential("500 millis").pipe(
      Schedule.jittered,
      Schedule.setInputType<SpeechError>(),
      Schedule.while(({ input }) => RETRYABLE.has(input.kind)),
      Schedule.upTo({ times: Math.max(0, options.maxRetries ?? 2) })
    )

    const attempt = (request: SpeechRequest, responseFormat: "opus" | "wav") => {
      const fail = (kind: LlmErrorKind, description: string) =>
        new SpeechError({ kind, model: request.model, description })
      const baseUrl = (request.endpoint?.baseUrl ?? options.baseUrl ?? DEFAULT_BASE_URL).replace(/\/+$/, "")
      const apiKey = request.endpoint?.apiKey ?? options.apiKey
      const url = `${baseUrl}/audio/speech`
      const body = JSON.stringify({
        model: request.model,
        voice: request.voice,
        input: request.input,
        response_format: responseFormat
      })
      const headers = {
        "content-type": "application/json",
        ...(apiKey === undefined ? {} : { authorization: `Bearer ${Redacted.value(apiKey)}` })
      }
      const sent: Effect.Effect<Answer, SpeechError> =
        request.endpoint === undefined
          ? Effect.tryPromise({
              try: async (signal) => {
                const answer = await fetch(url, {
                  method: "POST",
                  headers,
                  body,
                  signal: AbortSignal.any([signal, AbortSignal.timeout(timeoutMs)])
                })
                return {
                  status: answer.status,
                  contentType: answer.headers.get("content-type") ?? undefined,
                  body: new Uint8Array(await answer.arrayBuffer())
                }
              },
              catch: (cause) =>
                cause instanceof Error && cause.name === "TimeoutError"
                  ? fail("timeout", "no answer within the request timeout")
                  : fail("unavailable", "the server could not be reached")
            })
          : outbound
              .request({ url, method: "POST", headers, body, timeoutMs, maxBytes: MAX_AUDIO_BYTES })
              .pipe(
                Effect.map((answer) => ({
                  status: answer.status,
                  contentType: answer.headers["content-type"],
                  body: answer.body
                })),
                Effect.mapError((error) =>
                  error._tag === "UrlNotAllowed"
                    ? fail("bad_request", error.message)
                    : fail(error.reason === "timeout" ? "timeout" : "unavailable", error.description)
                )
              )
      return Effect.flatMap(sent, (answer): Effect.Effect<Answer, SpeechError> => {
        if (answer.status < 200 || answer.status >= 300) {
          const text = new TextDecoder().decode(answer.body.slice(0, 4096))
          return Effect.fail(fail(kindOfStatus(answer.status, text), `the server answered ${answer.status}`))
        }
        if (answer.body.length === 0) return Effect.fail(fail("unavailable", "the server answered no audio"))
        return Effect.succeed(answer)
      })
    }

    const ask = (request: SpeechRequest, responseFormat: "opus" | "wav") =>
      attempt(request, responseFormat).pipe(Effect.retry(schedule))

    /** The answer as a voice note: as it came when it is Ogg, encoded when it is PCM, else nothing. */
    const voiceNoteOf = (answer: Answer): Effect.Effect<Uint8Array | undefined> => {
      if (isOgg(answer.body)) return Effect.succeed(answer.body)
      const pcm = toPcm(answer.body, answer.contentType)
      if (pcm === undefined || pcm.samples.length === 0) return Effect.succeed(undefined)
      return encodeOggOpus(pcm).pipe(
        Effect.tap((ogg) =>
          Effect.annotateCurrentSpan({
            "speech.encodedFrom": `pcm ${pcm.sampleRate} Hz`,
            "speech.oggBytes": ogg.length
          })
        ),
        Effect.catch((error) =>
          Effect.logWarning("speech not encoded to Opus; sent as an audio file", {
            cause: String(error.cause)
          }).pipe(Effect.as(undefined))
        )
      )
    }
    return SpeechSynthesizer.of({
      synthesize: Effect.fn("SpeechSynthesizer.synthesize", { kind: "client" })(function* (
        request: SpeechRequest
      ) {
        yield* Effect.annotateCurrentSpan({
          "speech.model": request.model,
          "speech.characters": request.input.length,
          "speech.provider": request.endpoint?.providerId ?? "default"
        })
        const voiceNote = (audio: Uint8Array, requests: number): Speech => ({
          audio,
          format: "ogg_opus",
          fileName: "answer.ogg",
          model: request.model,
          costUsd: requests * speechCost(request.model, request.input.length)
        })
        const first = yield* ask(request, "opus")
        const note = yield* voiceNoteOf(first)
        let speech: Speech
        if (note !== undefined) speech = voiceNote(note, 1)
        else {
          // A format we cannot decode (MP3…): WAV is one we can, and compatible servers offer it.
          const second = yield* ask(request, "wav").pipe(Effect.option)
          const secondNote = second._tag === "Some" ? yield* voiceNoteOf(second.value) : undefined
          // Each answer was spoken, and paid for, in full.
          const requests = second._tag === "Some" ? 2 : 1
          speech =
            secondNote !== undefined
              ? voiceNote(secondNote, requests)
              : {
                  audio: first.body,
                  format: "other",
                  fileName: `answer.${extensionOf(first.contentType)}`,
                  model: request.model,
                  costUsd: requests * speechCost(request.model, request.input.length)
                }
        }
        yield* Effect.annotateCurrentSpan({
          "speech.bytes": speech.audio.length,
          "speech.format": speech.format
        })
        return speech
      })
    })
  }
})

export const layer = (
  options: SpeechSynthesizerOpenAIOptions
): Layer.Layer<SpeechSynthesizer, never, OutboundHttp> =>
  Layer.effect(
    SpeechSynthesizer,
    Effect.map(make, (build) => build(options))
  )
