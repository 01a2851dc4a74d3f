/**
 * ImageGenerator on an OpenAI-compatible `POST {baseUrl}/images/generations`:
 * the bot's provider (its base URL and key), else the env default server.
 * Every request goes through the guarded outbound client: a provider's URL
 * came from an admin, and an answer's image `url` came from the server, so
 * neither reaches a metadata or (when denied) a private address. What the
 * model hears of a failure is ours: the status and a short error code.
 */
import { ImageGenerationFailed, ImageGenerator, type ImageRequest, OutboundHttp } from "@botfleet/application"
import { Effect, Layer, Redacted, Schema } from "effect"
import { imagePriceOf, qualityFor } from "./imagePrices.ts"

export interface ImageGeneratorOpenAIOptions {
  /** Unset for keyless servers: a placeholder is sent. */
  readonly apiKey: Redacted.Redacted<string> | undefined
  /** Unset: OpenAI's API. */
  readonly baseUrl: string | undefined
}

const OPENAI_API = "https://api.openai.com/v1"
const KEYLESS_PLACEHOLDER = "no-api-key-configured"
/** Images take tens of seconds to draw; a minute and a half leaves room for a slow one. */
export const IMAGE_TIMEOUT_MS = 90_000
/** A 1536x1024 PNG is about 3 MB, 4 MB as base64 in JSON. */
export const IMAGE_MAX_BYTES = 20 * 1024 * 1024

const Answer = Schema.Struct({
  data: Schema.Array(
    Schema.Struct({
      b64_json: Schema.optional(Schema.NullOr(Schema.String)),
      url: Schema.optional(Schema.NullOr(Schema.String))
    })
  ).check(Schema.isMinLength(1))
})
const decodeAnswer = Schema.decodeUnknownOption(Schema.fromJsonString(Answer))
const ErrorAnswer = Schema.Struct({
  error: Schema.Struct({ code: Schema.optional(Schema.NullOr(Schema.String)) })
})
const decodeError = Schema.decodeUnknownOption(Schema.fromJsonString(ErrorAnswer))

const failed = (reason: string) => new ImageGenerationFailed({ reason })

/** A short machine code from the error body ("content_policy_violation"), never its prose. */
const codeOf = (body: string): string | null => {
  const parsed = decodeError(body)
  const code = parsed._tag === "Some" ? parsed.value.error.code : null
  return code != null && /^[a-z0-9_.-]{1,60}$/i.test(code) ? code : null
}

const PNG = [0x89, 0x50, 0x4e, 0x47]
const fileNameOf = (bytes: Uint8Array) =>
  PNG.every((byte, i) => bytes[i] === byte) ? "image.png" : "image.jpg"

export const layer = (
  options: ImageGeneratorOpenAIOptions
): Layer.Layer<ImageGenerator, never, OutboundHttp> =>
  Layer.effect(
    ImageGenerator,
    Effect.gen(function* () {
      const outbound = yield* OutboundHttp

      const download = Effect.fn("ImageGenerator.download")(function* (url: string) {
        const response = yield* outbound
          .request({ url, timeoutMs: 30_000, maxBytes: IMAGE_MAX_BYTES })
          .pipe(Effect.mapError((error) => failed(`the image could not be downloaded: ${error.message}`)))
        if (response.status < 200 || response.status >= 300) {
          return yield* failed(`the image could not be downloaded (HTTP ${response.status})`)
        }
        return response.body
      })

      const generate = Effect.fn("ImageGenerator.generate")(function* (request: ImageRequest) {
        const baseUrl = (request.endpoint?.baseUrl ?? options.baseUrl ?? OPENAI_API).replace(/\/+$/, "")
        const key = request.endpoint?.apiKey ?? options.apiKey
        const quality = qualityFor(request.model)
        yield* Effect.annotateCurrentSpan({ "image.model": request.model, "image.size": request.size })
        const response = yield* outbound
          .request({
            url: `${baseUrl}/images/generations`,
            method: "POST",
            headers: {
              "content-type": "application/json",
              authorization: `Bearer ${key === undefined ? KEYLESS_PLACEHOLDER : Redacted.value(key) || KEYLESS_PLACEHOLDER}`
            },
            body: JSON.stringify({
              model: request.model,
              prompt: request.prompt,
              n: 1,
              size: request.size,
              ...(quality === undefined ? {} : { quality })
            }),
            timeoutMs: IMAGE_TIMEOUT_MS,
            maxBytes: IMAGE_MAX_BYTES
          })
          .pipe(Effect.mapError((error) => failed(`the image server could not be asked: ${error.message}`)))
        const text = new TextDecoder().decode(response.body)
        if (response.status < 200 || response.status >= 300) {
          const code = codeOf(text)
          return yield* failed(
            `the image server answered HTTP ${response.status}${code === null ? "" : ` (${code})`}`
          )
        }
        const answer = decodeAnswer(text)
        if (answer._tag === "None") return yield* failed("the image server's answer held no image")
        const first = answer.value.data[0]!
        const bytes =
          first.b64_json != null
            ? new Uint8Array(Buffer.from(first.b64_json, "base64"))
            : first.url != null
              ? yield* download(first.url)
              : yield* failed("the image server's answer held no image")
        if (bytes.length === 0) return yield* failed("the image server's answer held no image")
        const price = imagePriceOf(request.model, request.size)
        if (price === null) {
          yield* Effect.logWarning("no price for this image model and size: counted as free", {
            model: request.model,
            size: request.size
          })
        }
        return { bytes, fileName: fileNameOf(bytes), costUsd: price ?? 0 }
      })

      return ImageGenerator.of({ generate })
    })
  )
