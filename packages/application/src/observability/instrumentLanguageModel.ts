/**
 * Wraps any LanguageModel with the LLM metrics: duration, outcome, error
 * type, tokens, cost and fallback use. One place, whatever the adapter.
 */
import { Clock, Effect, Layer, Stream } from "effect"
import { type Completion, LanguageModel, type LlmError } from "../ports/LanguageModel.ts"
import * as Metrics from "./metrics.ts"

export const instrumentLanguageModel = <E, R>(
  inner: Layer.Layer<LanguageModel, E, R>
): Layer.Layer<LanguageModel, E, R> =>
  Layer.effect(
    LanguageModel,
    Effect.gen(function* () {
      const model = yield* LanguageModel

      const succeeded = Effect.fnUntraced(function* (answer: Completion) {
        yield* Metrics.count(Metrics.llmRequests, { model: answer.model, outcome: "ok" })
        yield* Metrics.count(
          Metrics.llmTokens,
          { model: answer.model, direction: "input" },
          answer.inputTokens
        )
        yield* Metrics.count(
          Metrics.llmTokens,
          { model: answer.model, direction: "output" },
          answer.outputTokens
        )
        yield* Metrics.count(Metrics.llmCost, { model: answer.model }, answer.costUsd)
        if (answer.usedFallback) yield* Metrics.count(Metrics.llmFallbackUsed, { model: answer.model })
      })

      const failed = Effect.fnUntraced(function* (requested: string, type: string) {
        yield* Metrics.count(Metrics.llmRequests, { model: requested, outcome: "error" })
        // error_type: seed 002's name for the same value; type stays for existing dashboards.
        yield* Metrics.count(Metrics.llmErrors, { model: requested, type, error_type: type })
      })

      return LanguageModel.of({
        // Streamed answers (the pipeline's default in private chats) count the same, duration included.
        stream: (request) =>
          Stream.unwrap(
            Effect.map(Clock.currentTimeMillis, (started) => {
              // status: seed 002's label, as for complete().
              const took = (status: "ok" | "error") =>
                Effect.flatMap(Clock.currentTimeMillis, (now) =>
                  Metrics.observe(
                    Metrics.llmRequestDuration,
                    { model: request.model, status },
                    (now - started) / 1000
                  )
                )
              return model.stream(request).pipe(
                Stream.tap((event) =>
                  event._tag === "Finished"
                    ? Effect.andThen(took("ok"), succeeded(event.completion))
                    : Effect.void
                ),
                Stream.tapError((error: LlmError) =>
                  Effect.andThen(took("error"), failed(request.model, error.kind))
                )
              )
            })
          ),
        complete: (request) =>
          Effect.gen(function* () {
            const started = yield* Clock.currentTimeMillis
            const exit = yield* Effect.exit(model.complete(request))
            const seconds = ((yield* Clock.currentTimeMillis) - started) / 1000
            yield* Metrics.observe(
              Metrics.llmRequestDuration,
              // status: seed 002's label.
              { model: request.model, status: exit._tag === "Success" ? "ok" : "error" },
              seconds
            )
            if (exit._tag === "Success") {
              yield* succeeded(exit.value)
            } else {
              const failure = exit.cause.reasons.find((reason) => reason._tag === "Fail")
              yield* failed(request.model, failure?._tag === "Fail" ? failure.error.kind : "defect")
            }
            return yield* exit
          })
      })
    })
  ).pipe(Layer.provide(inner))
