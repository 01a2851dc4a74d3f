/**
 * W3C trace context (`traceparent`) for an update: written when the update is
 * accepted, read when it is processed, so one update is one trace even though
 * processing happens later, maybe in another process.
 */
import { Effect, Option, Tracer } from "effect"

const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/

/** The current span as a `traceparent` header value, if there is a span. */
export const currentTraceparent: Effect.Effect<string | null> = Effect.currentSpan.pipe(
  Effect.map((span) => `00-${span.traceId}-${span.spanId}-${span.sampled ? "01" : "00"}`),
  Effect.orElseSucceed(() => null)
)

export const parseTraceparent = (value: string | null): Option.Option<Tracer.ExternalSpan> => {
  const match = value === null ? null : TRACEPARENT.exec(value)
  if (!match) return Option.none()
  return Option.some(
    Tracer.externalSpan({
      traceId: match[1]!,
      spanId: match[2]!,
      sampled: (Number.parseInt(match[3]!, 16) & 1) === 1
    })
  )
}

/** Runs `effect` as a child of the stored span, when there is one. */
export const continueTrace =
  (traceparent: string | null) =>
  <A, E, R>(effect: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
    Option.match(parseTraceparent(traceparent), {
      onNone: () => effect,
      onSome: (parent) => Effect.withParentSpan(effect, parent)
    })
