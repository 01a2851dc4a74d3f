/**
 * Wraps any LanguageModel with the LLM metrics: duration, outcome, error
 * type, tokens, cost and fallback use. One place, whatever the adapter.
 */
import { Clock, Effect, Layer } from "effect"
import { LanguageModel } from "../ports/LanguageModel.ts"
import * as Metrics from "./metrics.ts"

export const instrumentLanguageModel = <E, R>(
  inner: Layer.Layer<LanguageModel, E, R>
): Layer.Layer<LanguageModel, E, R> =>
  Layer.effect(
    LanguageModel,
    Effect.gen(function* () {
      const model = yield* LanguageModel
      return LanguageModel.of({
        complete: (request) =>
          Effect.gen(function* () {
            const started = yield* Clock.currentTimeMillis
            const exit = yield* Effect.exit(model.complete(request))
            const seconds = ((yield* Clock.currentTimeMillis) - started) / 1000
            yield* Metrics.observe(Metrics.llmRequestDuration, { model: request.model }, seconds)
            if (exit._tag === "Success") {
              const answer = exit.value
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
            } else {
              yield* Metrics.count(Metrics.llmRequests, { model: request.model, outcome: "error" })
              const failure = exit.cause.reasons.find((reason) => reason._tag === "Fail")
              const type = failure?._tag === "Fail" ? failure.error.kind : "defect"
              yield* Metrics.count(Metrics.llmErrors, { model: request.model, type })
            }
            return yield* exit
          })
      })
    })
  ).pipe(Layer.provide(inner))
