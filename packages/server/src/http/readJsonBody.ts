/**
 * Reads a JSON body with a size limit, turning each way it can be wrong into
 * the response the caller should get: 413 too large, 400 not JSON, 400 cut
 * off (the client went away or stalled mid-body: not a 413).
 */
import { ByteSize, Effect } from "effect"
import { HttpIncomingMessage, type HttpServerRequest, type HttpServerResponse } from "effect/http"
import { errorResponse } from "./errorResponse.ts"

export type JsonBody =
  | { readonly ok: true; readonly value: unknown }
  | { readonly ok: false; readonly response: HttpServerResponse.HttpServerResponse }

export const readJsonBody = (
  request: HttpServerRequest.HttpServerRequest,
  limitBytes: number
): Effect.Effect<JsonBody> => {
  // Built only when needed: nearly every body is fine.
  const tooLarge = () => ({
    ok: false as const,
    response: errorResponse(413, "payload_too_large", `the body is larger than ${limitBytes} bytes`)
  })
  const declared = Number(request.headers["content-length"] ?? Number.NaN)
  if (Number.isFinite(declared) && declared > limitBytes) return Effect.succeed(tooLarge())
  return request.text.pipe(
    Effect.provideService(HttpIncomingMessage.MaxBodySize, ByteSize.fromInputUnsafe(limitBytes)),
    Effect.map((text): JsonBody => {
      if (Buffer.byteLength(text) > limitBytes) return tooLarge()
      try {
        return { ok: true, value: JSON.parse(text) as unknown }
      } catch {
        return { ok: false, response: errorResponse(400, "malformed_json", "the body is not valid JSON") }
      }
    }),
    Effect.catch((error) =>
      Effect.succeed(
        error.reason._tag === "RequestParseError" && error.reason.reason === "BodyTooLarge"
          ? tooLarge()
          : {
              ok: false as const,
              response: errorResponse(400, "body_incomplete", "the body could not be read to its end")
            }
      )
    )
  )
}
