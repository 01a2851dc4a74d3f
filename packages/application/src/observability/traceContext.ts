/**
 * W3C trace context (`traceparent`) for an update: written when the update is
 * accepted, read when it is processed, so one update is one trace even though
 * processing happens later, maybe in another process.
 */
import { Effect, Option, Tracer } from "effect"

const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/

/**
 * The span this code runs in, if any. `Effect.currentSpan` fails when there is
 * none, and building that error (with its stack) cost 3 % of the webhook's CPU.
 */
export const currentSpanOption: Effect.Effect<Option.Option<Tracer.Span>> = Effect.map(
  Effect.serviceOption(Tracer.ParentSpan),
  Option.filter((span): span is Tracer.Span => span._tag === "Span")
)

/** The current span as a `traceparent` header value, if there is a span. */
export const currentTraceparent: Effect.Effect<string | null> = Effect.map(currentSpanOption, (span) =>
  Option.isSome(span)
    ? `00-${span.value.traceId}-${span.value.spanId}-${span.value.sampled ? "01" : "00"}`
    : null
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
