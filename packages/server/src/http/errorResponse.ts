import { HttpServerResponse } from "effect/http"

/** The contract's error shape: `{ "error": { "code", "message" } }`. */
export const errorResponse = (status: number, code: string, message: string) =>
  HttpServerResponse.jsonUnsafe({ error: { code, message } }, { status })
