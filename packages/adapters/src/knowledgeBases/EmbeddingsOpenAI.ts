/**
 * `POST {baseUrl}/embeddings` of any OpenAI-compatible server. A provider's
 * server (a URL an admin supplied) is reached through the guarded outbound
 * client; the operator's own OPENAI_BASE_URL directly, as chat replies are.
 */
import { EmbeddingError, type EmbeddingRequest, Embeddings, OutboundHttp } from "@botfleet/application"
import { Effect, Layer, Redacted, Schema } from "effect"
import { costOf, defaultPrices, type PriceTable } from "../languageModel/prices.ts"
import { normalize } from "./vectors.ts"

export interface EmbeddingsOpenAIOptions {
  /** The env default provider (OPENAI_API_KEY, OPENAI_BASE_URL). */
  readonly apiKey?: Redacted.Redacted<string> | undefined
  readonly baseUrl?: string | undefined
  /** The price table chat replies use (OPENAI_PRICES included); a provider's own prices add to it. */
  readonly prices?: PriceTable | undefined
}

const DEFAULT_BASE_URL = "https://api.openai.com/v1"
/** 64 inputs of 1,536 numbers are ~2 MB of JSON; room for larger models. */
const MAX_RESPONSE_BYTES = 64 * 1024 * 1024
const TIMEOUT_MS = 60_000

const EmbeddingsResponse = Schema.Struct({
  data: Schema.Array(Schema.Struct({ index: Schema.Int, embedding: Schema.Array(Schema.Number) })),
  usage: Schema.optional(Schema.Struct({ prompt_tokens: Schema.optional(Schema.Number) }))
})
const decodeResponse = Schema.decodeUnknownEffect(Schema.fromJsonString(EmbeddingsResponse))

/** 429 and 5xx pass with time; anything else (a wrong model, a bad key) needs an admin. */
const failed = (status: number, model: string) =>
  new EmbeddingError({
    description: `embeddings (${model}): the server answered ${status}`,
    retryable: status === 429 || status >= 500
  })

export const make = Effect.gen(function* () {
  const outbound = yield* OutboundHttp
  return (options: EmbeddingsOpenAIOptions) =>
    Embeddings.of({
      embed: Effect.fn("Embeddings.embed")(function* (request: EmbeddingRequest) {
        if (request.inputs.length === 0) return { vectors: [], inputTokens: 0 }
        const baseUrl = (request.endpoint?.baseUrl ?? options.baseUrl ?? DEFAULT_BASE_URL).replace(/\/+$/, "")
        const apiKey = request.endpoint?.apiKey ?? options.apiKey
        const body = JSON.stringify({
          model: request.model,
          input: request.inputs,
          encoding_format: "float",
          ...(request.dimensions === null ? {} : { dimensions: request.dimensions })
        })
        const headers = {
          "content-type": "application/json",
          ...(apiKey === undefined ? {} : { authorization: `Bearer ${Redacted.value(apiKey)}` })
        }
        const url = `${baseUrl}/embeddings`
        const response =
          request.endpoint === undefined
            ? yield* Effect.tryPromise({
                try: async (signal) => {
                  const answer = await fetch(url, {
                    method: "POST",
                    headers,
                    body,
                    signal: AbortSignal.any([signal, AbortSignal.timeout(TIMEOUT_MS)])
                  })
                  return { status: answer.status, body: new Uint8Array(await answer.arrayBuffer()) }
                },
                catch: () =>
                  new EmbeddingError({
                    description: "embeddings: the server could not be reached",
                    retryable: true
                  })
              })
            : yield* outbound
                .request({
                  url,
                  method: "POST",
                  headers,
                  body,
                  timeoutMs: TIMEOUT_MS,
                  maxBytes: MAX_RESPONSE_BYTES
                })
                .pipe(
                  Effect.mapError(
                    (error) =>
                      new EmbeddingError({
                        description: `embeddings: ${error.message}`,
                        retryable: error._tag === "OutboundRequestFailed"
                      })
                  )
                )
        if (response.status < 200 || response.status >= 300)
          return yield* failed(response.status, request.model)
        const decoded = yield* decodeResponse(new TextDecoder().decode(response.body)).pipe(
          Effect.mapError(
            () =>
              new EmbeddingError({
                description: "embeddings: the answer is not an embeddings list",
                retryable: false
              })
          )
        )
        const vectors = [...decoded.data]
          .sort((a, b) => a.index - b.index)
          .map((item) => normalize(item.embedding))
        if (vectors.length !== request.inputs.length)
          return yield* new EmbeddingError({
            description: `embeddings: ${vectors.length} vectors for ${request.inputs.length} inputs`,
            retryable: false
          })
        const inputTokens = decoded.usage?.prompt_tokens ?? 0
        const prices = new Map([
          ...(options.prices ?? defaultPrices),
          ...Object.entries(request.endpoint?.prices ?? {})
        ])
        return { vectors, inputTokens, costUsd: costOf(request.model, inputTokens, 0, prices) }
      })
    })
})

export const layer = (options: EmbeddingsOpenAIOptions): Layer.Layer<Embeddings, never, OutboundHttp> =>
  Layer.effect(
    Embeddings,
    Effect.map(make, (build) => build(options))
  )
