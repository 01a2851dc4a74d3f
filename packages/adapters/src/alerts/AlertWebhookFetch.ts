/** Posts alerts as JSON to the configured webhook (Slack and Mattermost read `text`). */
import { AlertDeliveryFailed, AlertWebhook } from "@botfleet/application"
import { Effect, Layer, Redacted } from "effect"

const TIMEOUT_MS = 5_000

export const layer: Layer.Layer<AlertWebhook> = Layer.succeed(
  AlertWebhook,
  AlertWebhook.of({
    post: Effect.fn("AlertWebhook.post")(function* (url: Redacted.Redacted<string>, body: unknown) {
      const response = yield* Effect.tryPromise({
        try: (signal) =>
          fetch(Redacted.value(url), {
            method: "POST",
            headers: { "content-type": "application/json" },
            body: JSON.stringify(body),
            signal: AbortSignal.any([signal, AbortSignal.timeout(TIMEOUT_MS)])
          }),
        // The URL is a secret: only the kind of failure is kept.
        catch: (error) =>
          new AlertDeliveryFailed({
            reason: `alert webhook unreachable: ${error instanceof Error ? error.name : "error"}`
          })
      })
      // Drain the body so the connection is reused.
      yield* Effect.promise(() => response.arrayBuffer().catch(() => undefined))
      if (!response.ok) {
        return yield* new AlertDeliveryFailed({ reason: `alert webhook answered ${response.status}` })
      }
    })
  })
)
