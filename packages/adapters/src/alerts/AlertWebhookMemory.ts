/**
 * The in-memory twin of AlertWebhookFetch: keeps what was posted, and can be
 * told to refuse or to hang until the real adapter's 5 s timeout (on the
 * Clock, so a TestClock decides when it gives up).
 */
import { AlertDeliveryFailed, AlertWebhook } from "@botfleet/application"
import { Context, Effect, Layer, Redacted } from "effect"

export interface PostedAlert {
  readonly url: string
  readonly body: unknown
}

export type WebhookBehaviour = "accept" | "refuse" | "hang"

/** Inspection and scripting of the in-memory webhook. */
export class AlertWebhookLog extends Context.Service<
  AlertWebhookLog,
  {
    /** Bodies the webhook accepted, oldest first. */
    readonly posted: Effect.Effect<ReadonlyArray<PostedAlert>>
    /** Posts that have started, accepted or not. */
    readonly attempts: Effect.Effect<number>
    readonly behave: (behaviour: WebhookBehaviour) => Effect.Effect<void>
  }
>()("@botfleet/adapters/alerts/AlertWebhookLog") {}

/** As AlertWebhookFetch's timeout. */
const TIMEOUT = "5 seconds"

export const layerMemory: Layer.Layer<AlertWebhook | AlertWebhookLog> = Layer.effectContext(
  Effect.sync(() => {
    const posted: Array<PostedAlert> = []
    let attempts = 0
    let behaviour: WebhookBehaviour = "accept"

    const post = (url: Redacted.Redacted<string>, body: unknown) =>
      Effect.suspend(() => {
        attempts++
        if (behaviour === "refuse")
          return Effect.fail(new AlertDeliveryFailed({ reason: "alert webhook answered 500" }))
        if (behaviour === "hang") {
          return Effect.sleep(TIMEOUT).pipe(
            Effect.andThen(
              Effect.fail(new AlertDeliveryFailed({ reason: "alert webhook unreachable: TimeoutError" }))
            )
          )
        }
        posted.push({ url: Redacted.value(url), body })
        return Effect.void
      })

    const log = AlertWebhookLog.of({
      posted: Effect.sync(() => posted.slice()),
      attempts: Effect.sync(() => attempts),
      behave: (next) =>
        Effect.sync(() => {
          behaviour = next
        })
    })
    return Context.make(AlertWebhook, AlertWebhook.of({ post })).pipe(Context.add(AlertWebhookLog, log))
  })
)
