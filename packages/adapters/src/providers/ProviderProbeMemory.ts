/**
 * providers: the in-memory ProviderProbe for use-case tests. Every
 * check is recorded (the key as given, so tests can see which was checked);
 * the outcome is scripted per call through `ProviderProbeMemoryControl`.
 */
import { type ProviderCheckError, ProviderProbe } from "@botfleet/application"
import { Context, Effect, Layer, Redacted } from "effect"

export interface ProbeCall {
  readonly baseUrl: string
  readonly apiKey: string
}

export class ProviderProbeMemoryControl extends Context.Service<
  ProviderProbeMemoryControl,
  {
    readonly calls: Effect.Effect<ReadonlyArray<ProbeCall>>
    /** The next checks fail with these errors, one each, in order; then checks pass again. */
    readonly failNext: (...errors: ReadonlyArray<ProviderCheckError>) => Effect.Effect<void>
  }
>()("@botfleet/adapters/ProviderProbeMemoryControl") {}

export const layerMemory: Layer.Layer<ProviderProbe | ProviderProbeMemoryControl> = Layer.effectContext(
  Effect.sync(() => {
    const calls: Array<ProbeCall> = []
    const failures: Array<ProviderCheckError> = []
    const probe = ProviderProbe.of({
      check: (baseUrl, apiKey) =>
        Effect.suspend(() => {
          calls.push({ baseUrl, apiKey: Redacted.value(apiKey) })
          const failure = failures.shift()
          return failure === undefined ? Effect.void : Effect.fail(failure)
        })
    })
    const control = ProviderProbeMemoryControl.of({
      calls: Effect.sync(() => calls.slice()),
      failNext: (...errors) =>
        Effect.sync(() => {
          failures.push(...errors)
        })
    })
    return Context.make(ProviderProbe, probe).pipe(Context.add(ProviderProbeMemoryControl, control))
  })
)
