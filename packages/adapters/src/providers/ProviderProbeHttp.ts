/**
 * Checks a provider before it is stored: `GET {baseUrl}/models` with its key,
 * as every OpenAI-compatible server answers, through the guarded outbound
 * client (no metadata or, under deny, private addresses; no redirects;
 * bounded time and size).
 *
 * The answers are few on purpose, so the check is no port scanner: 401/403
 * is a refused key (a real HTTP answer, and what the admin must fix); a
 * model list (2xx, JSON with `data`) passes; anything else (a closed port, a
 * timeout, a reset, a redirect, any other status, a body that is not a model
 * list) is one ProviderUnreachable with the same words. The server's body is
 * never quoted, and the key goes only in the Authorization header.
 */
import { ProviderProbe, UrlNotAllowed } from "@botfleet/application"
import { InvalidProviderKey, ProviderUnreachable } from "@botfleet/domain"
import { Duration, Effect, Layer, Redacted } from "effect"
import { type OutboundClient, OutboundRefused } from "../outbound/OutboundClient.ts"

export interface ProviderProbeHttpOptions {
  readonly outbound: OutboundClient
  /** Default 10 seconds. */
  readonly timeout?: Duration.Input | undefined
}

/** A model list is small; a larger answer is not one. */
const MAX_BYTES = 1024 * 1024

export const NO_USABLE_ANSWER =
  "no model list came back from GET /models (the server is down or closed, did not answer in time, " +
  "or is not an OpenAI-compatible API at this base URL: most end in /v1)"

const isModelList = (body: Buffer): boolean => {
  try {
    const json: unknown = JSON.parse(body.toString("utf8"))
    return typeof json === "object" && json !== null && Array.isArray((json as { data?: unknown }).data)
  } catch {
    return false
  }
}

export const make = (options: ProviderProbeHttpOptions): ProviderProbe["Service"] => {
  const timeoutMs = Duration.toMillis(Duration.fromInputUnsafe(options.timeout ?? Duration.seconds(10)))
  const check = Effect.fn("ProviderProbe.check")(function* (
    baseUrl: string,
    apiKey: Redacted.Redacted<string>
  ) {
    const response = yield* Effect.tryPromise({
      try: (signal) =>
        options.outbound.request({
          url: `${baseUrl.replace(/\/+$/, "")}/models`,
          headers: { authorization: `Bearer ${Redacted.value(apiKey)}`, accept: "application/json" },
          timeoutMs,
          maxBytes: MAX_BYTES,
          signal
        }),
      catch: (error) =>
        error instanceof OutboundRefused
          ? new UrlNotAllowed({ rule: error.message })
          : new ProviderUnreachable({ reason: NO_USABLE_ANSWER })
    })
    yield* Effect.annotateCurrentSpan("http.status_code", response.status)
    if (response.status === 401 || response.status === 403) {
      return yield* new InvalidProviderKey({ reason: `GET /models answered ${response.status}` })
    }
    if (response.status < 200 || response.status >= 300 || !isModelList(response.body)) {
      return yield* new ProviderUnreachable({ reason: NO_USABLE_ANSWER })
    }
  })
  return ProviderProbe.of({ check })
}

export const layer = (options: ProviderProbeHttpOptions): Layer.Layer<ProviderProbe> =>
  Layer.sync(ProviderProbe, () => make(options))
