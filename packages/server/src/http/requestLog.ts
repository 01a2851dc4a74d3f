/**
 * Logs every HTTP request once (method, path, status, duration) with a request
 * id, taken from `X-Request-Id` when the caller sends a sane one, else made up,
 * and echoed back on every response. Log lines written while serving carry it.
 */
import { randomUUID } from "node:crypto"
import { currentSpanOption, Metrics } from "@botfleet/application"
import { Effect, Exit, Option } from "effect"
import { HttpEffect, HttpRouter, HttpServerError, HttpServerRequest, HttpServerResponse } from "effect/http"
import { type ErrorBody, errorBodyForStatus, errorBodyOf } from "./errorBodies.ts"
import { errorResponse } from "./errorResponse.ts"

const validRequestId = /^[\w.:-]{1,128}$/

/** The `route` of requests no route matched: a scanner's random paths all share this one series. */
export const UNMATCHED = "unmatched"

/**
 * Names the server span after the matched route (`GET /api/bots/:id`), as
 * OpenTelemetry's HTTP conventions do; Effect names it by method alone.
 */
const nameServerSpan = (name: string) =>
  Effect.map(currentSpanOption, (current) => {
    if (Option.isNone(current)) return
    const span = current.value
    const otel = (span as { readonly span?: { updateName?: (name: string) => unknown } }).span
    if (span.kind === "server" && typeof otel?.updateName === "function") otel.updateName(name)
  })

const isJson = (response: HttpServerResponse.HttpServerResponse) => {
  const type =
    response.headers["content-type"] ??
    ("contentType" in response.body ? response.body.contentType : undefined)
  return typeof type === "string" && type.includes("json")
}

export const logRequests = <E, R>(app: Effect.Effect<HttpServerResponse.HttpServerResponse, E, R>) =>
  Effect.gen(function* () {
    const request = yield* HttpServerRequest.HttpServerRequest
    const incoming = request.headers["x-request-id"]
    const requestId = incoming !== undefined && validRequestId.test(incoming) ? incoming : randomUUID()
    let replacement: ErrorBody | undefined
    yield* HttpEffect.appendPreResponseHandler((_request, response) => {
      // Also errors answered without a JSON body by the HTTP stack itself (e.g. 415).
      const body = replacement ?? (isJson(response) ? undefined : errorBodyForStatus(response.status))
      const final = body ? errorResponse(body.status, body.code, body.message) : response
      return Effect.succeed(HttpServerResponse.setHeader(final, "x-request-id", requestId))
    })
    const started = performance.now()
    // The router puts the matched route in the request's context while the route runs.
    let matchedRoute: string | undefined
    const routed = Effect.ensuring(
      app,
      Effect.map(Effect.serviceOption(HttpRouter.RouteContext), (found) => {
        if (found._tag === "Some") matchedRoute = found.value.route.path
      })
    )
    const exit = yield* Effect.exit(Effect.annotateLogs(routed, "request_id", requestId))
    const [response, cause] = Exit.isSuccess(exit)
      ? [exit.value, undefined]
      : yield* HttpServerError.causeResponse(exit.cause)
    if (Exit.isFailure(exit)) replacement = errorBodyOf(exit.cause, response.status)
    const route = matchedRoute ?? UNMATCHED
    yield* nameServerSpan(`${request.method} ${route}`)
    const fields = {
      request_id: requestId,
      method: request.method,
      path: request.url.split("?")[0] ?? request.url,
      status: replacement?.status ?? response.status,
      duration_ms: Math.round((performance.now() - started) * 100) / 100
    }
    yield* Metrics.observe(
      Metrics.httpRequestDuration,
      { method: request.method, route, status: String(fields.status) },
      fields.duration_ms / 1000
    )
    const log =
      response.status >= 500 && cause !== undefined
        ? Effect.logError("http request", cause)
        : Effect.logInfo("http request")
    yield* Effect.annotateLogs(log, fields)
    return yield* exit
  })
