/** Headers a handler adds to its response, success or error alike. */
import { Effect } from "effect"
import { HttpEffect, HttpServerResponse } from "effect/http"

export const addResponseHeaders = (headers: Record<string, string>) =>
  HttpEffect.appendPreResponseHandler((_request, response) =>
    Effect.succeed(HttpServerResponse.setHeaders(response, headers))
  )

/** `Location` of what a 201 created. */
export const createdAt = (path: string) => addResponseHeaders({ location: path })
