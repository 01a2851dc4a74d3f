/**
 * The errors the admin API answers with, all in the contract's shape
 * `{ "error": { "code", "message" } }`, and the one table that says which
 * status and code each domain or application failure gets. Handlers pipe
 * their use cases through `answerErrors`; docs/api.md lists every code (a
 * test holds the two together).
 */
import { Effect, Schema } from "effect"
import type { HttpServerRequest } from "effect/http"
import { addResponseHeaders } from "./responseHeaders.ts"

const body = { error: Schema.Struct({ code: Schema.String, message: Schema.String }) }

export class BadRequest extends Schema.Error<BadRequest>("BadRequest")(body, { httpApiStatus: 400 }) {}
export class Unauthorized extends Schema.Error<Unauthorized>("Unauthorized")(body, { httpApiStatus: 401 }) {}
export class Forbidden extends Schema.Error<Forbidden>("Forbidden")(body, { httpApiStatus: 403 }) {}
export class NotFound extends Schema.Error<NotFound>("NotFound")(body, { httpApiStatus: 404 }) {}
export class Conflict extends Schema.Error<Conflict>("Conflict")(body, { httpApiStatus: 409 }) {}
export class Unprocessable extends Schema.Error<Unprocessable>("Unprocessable")(body, {
  httpApiStatus: 422
}) {}
export class TooManyRequests extends Schema.Error<TooManyRequests>("TooManyRequests")(body, {
  httpApiStatus: 429
}) {}

export class ServiceUnavailable extends Schema.Error<ServiceUnavailable>("ServiceUnavailable")(body, {
  httpApiStatus: 503
}) {}

export class PayloadTooLarge extends Schema.Error<PayloadTooLarge>("PayloadTooLarge")(body, {
  httpApiStatus: 413
}) {}
export class UnsupportedMediaType extends Schema.Error<UnsupportedMediaType>("UnsupportedMediaType")(body, {
  httpApiStatus: 415
}) {}

export const error = (code: string, message: string) => ({ error: { code, message } })

const byStatus = {
  400: BadRequest,
  401: Unauthorized,
  403: Forbidden,
  404: NotFound,
  409: Conflict,
  413: PayloadTooLarge,
  415: UnsupportedMediaType,
  422: Unprocessable,
  429: TooManyRequests,
  503: ServiceUnavailable
} as const

type Status = keyof typeof byStatus

interface Answer {
  readonly status: Status
  readonly code: string
  /** Headers the answer carries, e.g. when to try again. */
  readonly headers?: (failure: never) => Record<string, string>
}

/**
 * Every failure a use case hands to a handler, by tag: its status and code.
 * A route that means something else by the same failure (a deleted bot while
 * sending is a conflict, not a missing route) catches it before this table.
 */
export const apiErrors = {
  BotNotFound: { status: 404, code: "bot_not_found" },
  ChatNotFound: { status: 404, code: "chat_not_found" },
  MessageNotFound: { status: 404, code: "message_not_found" },
  BotNameTaken: { status: 409, code: "name_taken" },
  BotTokenInUse: { status: 409, code: "token_in_use" },
  InvalidBotToken: { status: 422, code: "invalid_token" },
  TelegramUnavailable: {
    status: 503,
    code: "telegram_unavailable",
    headers: (failure: { readonly retryAfterSeconds: number }) => ({
      "retry-after": String(failure.retryAfterSeconds)
    })
  },
  ProviderNotFound: { status: 404, code: "provider_not_found" },
  ProviderNameTaken: { status: 409, code: "name_taken" },
  ProviderInUse: { status: 409, code: "provider_in_use" },
  InvalidProviderKey: { status: 422, code: "invalid_api_key" },
  ProviderKeyRequired: { status: 422, code: "api_key_required" },
  ProviderUnreachable: {
    status: 503,
    code: "provider_unreachable",
    headers: () => ({ "retry-after": "30" })
  },
  UrlNotAllowed: { status: 422, code: "url_not_allowed" },
  AlertBotNotFound: { status: 422, code: "bot_not_found" },
  FailureNotFound: { status: 404, code: "failure_not_found" },
  FailureNotRetryable: { status: 409, code: "not_retryable" },
  NotRetryable: { status: 409, code: "not_retryable" },
  SessionNotFound: { status: 404, code: "session_not_found" },
  AdminNotFound: { status: 404, code: "not_found" },
  LastOwner: { status: 409, code: "last_owner" },
  EmailTaken: { status: 409, code: "email_taken" },
  InvitationInvalid: { status: 400, code: "invitation_invalid" },
  RegistrationRefused: { status: 403, code: "registration_refused" },
  WebAppUnauthorized: { status: 401, code: "unauthorized" },
  McpServerNotFound: { status: 404, code: "mcp_server_not_found" },
  McpServerNameTaken: { status: 409, code: "name_taken" },
  McpServerInUse: { status: 409, code: "mcp_server_in_use" },
  McpHeadersRefused: { status: 422, code: "headers_refused" },
  McpHeadersRequired: { status: 422, code: "headers_required" },
  McpToolUnavailable: { status: 422, code: "unknown_tool" },
  McpServerUnreachable: {
    status: 503,
    code: "mcp_server_unreachable",
    headers: () => ({ "retry-after": "30" })
  },
  KnowledgeBaseNotFound: { status: 404, code: "knowledge_base_not_found" },
  KnowledgeDocumentNotFound: { status: 404, code: "document_not_found" },
  KnowledgeBaseNameTaken: { status: 409, code: "name_taken" },
  DocumentTooLarge: { status: 413, code: "document_too_large" },
  UnsupportedDocumentFormat: { status: 415, code: "unsupported_format" },
  DocumentFetchFailed: { status: 422, code: "url_fetch_failed" },
  OutboundRequestFailed: { status: 422, code: "url_unreachable" },
  EmbeddingError: { status: 503, code: "embeddings_unavailable" },
  BotUserNotFound: { status: 404, code: "user_not_found" },
  UserNoteNotFound: { status: 404, code: "note_not_found" }
} as const satisfies Record<string, Answer>

type Table = typeof apiErrors

/** What a failure becomes: the API error of its status, or itself when the table does not name it. */
export type Answered<E> = E extends { readonly _tag: infer Tag }
  ? Tag extends keyof Table
    ? InstanceType<(typeof byStatus)[Table[Tag]["status"]]>
    : E
  : E

const answerOf = (failure: unknown): Answer | undefined => {
  const tag = (failure as { readonly _tag?: unknown } | null)?._tag
  return typeof tag === "string" && Object.hasOwn(apiErrors, tag) ? apiErrors[tag as keyof Table] : undefined
}

/** The API error for a failure the table names. */
export const apiErrorOf = (failure: { readonly _tag: keyof Table; readonly message: string }) => {
  const answer = apiErrors[failure._tag] as Answer
  return new byStatus[answer.status](error(answer.code, failure.message))
}

/** The failures of `self` the table names, answered with their status, code and headers. */
export const answerErrors = <A, E, R>(
  self: Effect.Effect<A, E, R>
): Effect.Effect<A, Answered<E>, R | HttpServerRequest.HttpServerRequest> =>
  Effect.catch(self, (failure): Effect.Effect<never, unknown, HttpServerRequest.HttpServerRequest> => {
    const answer = answerOf(failure)
    if (answer === undefined) return Effect.fail(failure)
    const apiError = Effect.fail(
      new byStatus[answer.status](error(answer.code, (failure as { readonly message: string }).message))
    )
    return answer.headers === undefined
      ? apiError
      : addResponseHeaders((answer.headers as (failure: unknown) => Record<string, string>)(failure)).pipe(
          Effect.andThen(apiError)
        )
  }) as Effect.Effect<A, Answered<E>, R | HttpServerRequest.HttpServerRequest>

/**
 * The outbound guard's refusal on a route where the address is one field of the
 * body: the same 422 `url_not_allowed`, with the message naming that field.
 */
export const urlRefusedIn =
  (field: string) =>
  (failure: { readonly message: string }): Effect.Effect<never, Unprocessable> =>
    Effect.fail(new Unprocessable(error("url_not_allowed", `${field}: ${failure.message}`)))
