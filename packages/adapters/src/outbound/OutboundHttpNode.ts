/** The OutboundHttp port on the guarded Node client (OutboundClient.ts). */
import { OutboundHttp, OutboundRequestFailed, UrlNotAllowed } from "@botfleet/application"
import { Effect, Layer, Stream } from "effect"
import { type OutboundClient, OutboundFailed, OutboundRefused } from "./OutboundClient.ts"

/** A guarded client's rejection as the port's error. */
export const toPortError = (error: unknown): UrlNotAllowed | OutboundRequestFailed =>
  error instanceof OutboundRefused
    ? new UrlNotAllowed({ rule: error.message })
    : error instanceof OutboundFailed
      ? new OutboundRequestFailed({ reason: error.reason, description: error.message })
      : new OutboundRequestFailed({ reason: "unreachable", description: "the server could not be reached" })

export const make = (client: OutboundClient): OutboundHttp["Service"] =>
  OutboundHttp.of({
    checkUrl: Effect.fn("OutboundHttp.checkUrl")(function* (url: string) {
      yield* Effect.tryPromise({
        try: () => client.checkUrl(url),
        catch: (error) =>
          error instanceof OutboundRefused
            ? new UrlNotAllowed({ rule: error.message })
            : new UrlNotAllowed({ rule: "not a valid URL" })
      })
    }),
    request: Effect.fn("OutboundHttp.request")(function* (request) {
      const response = yield* Effect.tryPromise({
        try: (signal) => client.request({ ...request, signal }),
        catch: toPortError
      })
      yield* Effect.annotateCurrentSpan("http.status_code", response.status)
      const headers: Record<string, string> = {}
      for (const [name, value] of Object.entries(response.headers)) {
        if (value !== undefined) headers[name] = Array.isArray(value) ? value.join(", ") : value
      }
      return { status: response.status, headers, body: response.body }
    }),
    open: Effect.fn("OutboundHttp.open")(function* (request) {
      const response = yield* Effect.acquireRelease(
        Effect.tryPromise({
          try: (signal) => client.open({ ...request, signal }),
          catch: toPortError
        }),
        (response) => Effect.sync(() => response.destroy())
      )
      yield* Effect.annotateCurrentSpan("http.status_code", response.statusCode ?? 0)
      const headers: Record<string, string> = {}
      for (const [name, value] of Object.entries(response.headers)) {
        if (value !== undefined) headers[name] = Array.isArray(value) ? value.join(", ") : value
      }
      return {
        status: response.statusCode ?? 0,
        headers,
        body: Stream.fromAsyncIterable(response as AsyncIterable<Buffer>, (error) =>
          error instanceof OutboundFailed
            ? new OutboundRequestFailed({ reason: error.reason, description: error.message })
            : new OutboundRequestFailed({ reason: "unreachable", description: "the answer was cut off" })
        ).pipe(Stream.map((chunk): Uint8Array => chunk))
      }
    })
  })

export const layer = (client: OutboundClient): Layer.Layer<OutboundHttp> =>
  Layer.sync(OutboundHttp, () => make(client))
