/**
 * Failures the HTTP stack turns into empty responses (bad parameters, a body
 * too large, an unknown route, a crash) get the contract's JSON error body
 * instead. A validation error names the field and the rule, never the value
 * sent (`issueMessage`).
 */
import { issueMessage } from "@botfleet/application"
import type { Cause } from "effect"
import { HttpApiError } from "effect/http-api"

export interface ErrorBody {
  readonly status: number
  readonly code: string
  readonly message: string
}

/** Where the rejected data came from, as the message names it. */
const ROOT = { Payload: "body", Query: "query", Params: "path", Headers: "headers" } as const

const describe = (failure: unknown): ErrorBody | undefined => {
  if (HttpApiError.HttpApiSchemaError.is(failure)) {
    if (failure.kind === "Body" || failure.kind === "ResponseHeaders") return undefined
    const issue = failure.cause.issue
    // HttpApi reports a body JSON.parse refused as a bare issue at the root; nothing else is one.
    const message =
      failure.kind === "Payload" && issue._tag === "InvalidValue"
        ? "body: expected a valid JSON body"
        : issueMessage(issue, ROOT[failure.kind])
    return { status: 400, code: "invalid_request", message }
  }
  if (typeof failure === "object" && failure !== null && "_tag" in failure) {
    const tag = (failure as { _tag: string })._tag
    if (tag === "HttpApiPayloadTooLarge") {
      return { status: 413, code: "payload_too_large", message: "the body is larger than 1 MB" }
    }
    if (tag === "RouteNotFound") return { status: 404, code: "not_found", message: "no such route" }
    if (tag === "RequestParseError")
      return { status: 400, code: "malformed_json", message: "the body is not valid JSON" }
  }
  return undefined
}

/** The JSON body for a failed request, if it deserves one other than what the handler made. */
export const errorBodyOf = (cause: Cause.Cause<unknown>, status: number): ErrorBody | undefined => {
  for (const reason of cause.reasons) {
    const failure = reason._tag === "Fail" ? reason.error : reason._tag === "Die" ? reason.defect : undefined
    const body = describe(failure)
    if (body) return body
  }
  return errorBodyForStatus(status)
}

/** The contract's body for an error status answered without one; undefined below 400. */
export const errorBodyForStatus = (status: number): ErrorBody | undefined =>
  status < 400 ? undefined : (byStatus[status] ?? (status >= 500 ? byStatus[500] : undefined))

/** When nothing more specific is known about the failure. */
const byStatus: Record<number, ErrorBody> = {
  400: { status: 400, code: "bad_request", message: "the request could not be read" },
  404: { status: 404, code: "not_found", message: "no such route" },
  413: { status: 413, code: "payload_too_large", message: "the body is larger than 1 MB" },
  415: { status: 415, code: "unsupported_media_type", message: "send the body as application/json" },
  500: { status: 500, code: "internal_error", message: "internal error; the request id is in the logs" }
}
