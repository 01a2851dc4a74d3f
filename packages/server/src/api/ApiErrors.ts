/**
 * The errors the admin API answers with, all in the contract's shape
 * `{ "error": { "code", "message" } }`. Handlers turn domain errors into these.
 */
import { Schema } from "effect"

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

export const error = (code: string, message: string) => ({ error: { code, message } })
export class PayloadTooLarge extends Schema.Error<PayloadTooLarge>("PayloadTooLarge")(body, {
  httpApiStatus: 413
}) {}
export class UnsupportedMediaType extends Schema.Error<UnsupportedMediaType>("UnsupportedMediaType")(body, {
  httpApiStatus: 415
}) {}
