/**
 * Posts alerts as JSON to the configured webhook (Slack and Mattermost read
 * `text`), through the guarded outbound client: an address the guard refuses
 * (however the name resolves by then) is never reached, a redirect is not
 * followed, and only the status of the answer is kept.
 */
import { AlertDeliveryFailed, AlertWebhook } from "@botfleet/application"
import { Effect, Layer, Redacted } from "effect"
import { type OutboundClient, OutboundRefused } from "../outbound/OutboundClient.ts"

const TIMEOUT_MS = 5_000

export const make = (outbound: OutboundClient): AlertWebhook["Service"] =>
  AlertWebhook.of({
    post: Effect.fn("AlertWebhook.post")(function* (url: Redacted.Redacted<string>, body: unknown) {
      const response = yield* Effect.tryPromise({
        try: (signal) =>
          outbound.request({
            url: Redacted.value(url),
            method: "POST",
            headers: { "content-type": "application/json" },
            body: JSON.stringify(body),
            // The answer is read (within the client's default size) only to free the connection.
            timeoutMs: TIMEOUT_MS,
            signal
          }),
        // The URL is a secret: the rule or the kind of failure, never the URL.
        catch: (error) =>
          new AlertDeliveryFailed({
            reason:
              error instanceof OutboundRefused
                ? `alert webhook not allowed: ${error.message}`
                : `alert webhook unreachable: ${error instanceof Error ? error.message : "error"}`
          })
      })
      if (response.status < 200 || response.status >= 300) {
        return yield* new AlertDeliveryFailed({ reason: `alert webhook answered ${response.status}` })
      }
    })
  })

export const layer = (outbound: OutboundClient): Layer.Layer<AlertWebhook> =>
  Layer.sync(AlertWebhook, () => make(outbound))
