/**
 * providers (issue 12): checks a provider before it is stored by asking
 * `GET {baseUrl}/models` with its key, as every OpenAI-compatible server
 * answers. 401/403: the key is refused; no answer, a timeout, 5xx or 429:
 * unreachable for now; any other non-2xx: not an OpenAI-compatible API.
 * The key goes only in the Authorization header and never into an error.
 */
import { ProviderProbe } from "@botfleet/application"
import { InvalidProviderKey, ProviderNotCompatible, ProviderUnreachable } from "@botfleet/domain"
import { Duration, Effect, Layer, Redacted } from "effect"

export interface ProviderProbeHttpOptions {
  /** Default 10 seconds. */
  readonly timeout?: Duration.Input | undefined
}

/** "fetch failed" alone says little; its cause says ECONNREFUSED, ENOTFOUND... */
const describe = (error: unknown): string => {
  const parts: Array<string> = []
  let current: unknown = error
  for (let depth = 0; depth < 3 && current instanceof Error; depth++) {
    parts.push(current.message)
    current = current.cause
  }
  return parts.length === 0 ? String(error) : parts.join(": ")
}

export const make = (options: ProviderProbeHttpOptions = {}): ProviderProbe["Service"] => {
  const timeout = Duration.fromInputUnsafe(options.timeout ?? Duration.seconds(10))
  const check = Effect.fn("ProviderProbe.check")(function* (
    baseUrl: string,
    apiKey: Redacted.Redacted<string>
  ) {
    const url = `${baseUrl.replace(/\/+$/, "")}/models`
    const secret = Redacted.value(apiKey)
    const scrub = (text: string) => (secret === "" ? text : text.split(secret).join("[redacted]"))
    // The body is read too (it frees the connection), within the same timeout.
    const status = yield* Effect.tryPromise({
      try: async (signal) => {
        const response = await fetch(url, {
          headers: { authorization: `Bearer ${secret}`, accept: "application/json" },
          signal
        })
        await response.arrayBuffer()
        return response.status
      },
      catch: (error) => new ProviderUnreachable({ reason: scrub(`GET ${url}: ${describe(error)}`) })
    }).pipe(
      Effect.timeoutOrElse({
        duration: timeout,
        orElse: () =>
          Effect.fail(
            new ProviderUnreachable({ reason: `GET ${url}: no answer within ${Duration.format(timeout)}` })
          )
      })
    )
    yield* Effect.annotateCurrentSpan("http.status_code", status)
    if (status === 401 || status === 403) {
      return yield* new InvalidProviderKey({ reason: `GET ${url} answered ${status}` })
    }
    if (status === 429 || status >= 500) {
      return yield* new ProviderUnreachable({ reason: `GET ${url} answered ${status}; try again later` })
    }
    if (status < 200 || status >= 300) {
      return yield* new ProviderNotCompatible({
        reason: `GET ${url} answered ${status} (the base URL of most servers ends in /v1)`
      })
    }
  })
  return ProviderProbe.of({ check })
}

export const layer = (options: ProviderProbeHttpOptions = {}): Layer.Layer<ProviderProbe> =>
  Layer.sync(ProviderProbe, () => make(options))
