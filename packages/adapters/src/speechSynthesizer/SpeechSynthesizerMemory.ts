/**
 * The in-memory SpeechSynthesizer for use-case tests: the "audio" is `OggS`
 * followed by the text it speaks (or, scripted, another format), every
 * request is recorded, and failures are scripted like the transcriber's.
 */
import { type Speech, SpeechError, type SpeechRequest, SpeechSynthesizer } from "@botfleet/application"
import { Context, Effect, Layer } from "effect"
import { speechCost } from "./speechPrices.ts"

export class SpeechSynthesizerMemoryControl extends Context.Service<
  SpeechSynthesizerMemoryControl,
  {
    readonly requests: Effect.Effect<ReadonlyArray<SpeechRequest>>
    readonly failNext: (kind: SpeechError["kind"], times?: number) => Effect.Effect<void>
    /** Answer another format than Ogg Opus from now on (a server that cannot make Opus). */
    readonly answerOtherFormat: (other: boolean) => Effect.Effect<void>
  }
>()("@botfleet/adapters/SpeechSynthesizerMemoryControl") {}

export const layerMemory: Layer.Layer<SpeechSynthesizer | SpeechSynthesizerMemoryControl> =
  Layer.effectContext(
    Effect.sync(() => {
      const requests: Array<SpeechRequest> = []
      const failures: Array<SpeechError["kind"]> = []
      let other = false

      const synthesizer = SpeechSynthesizer.of({
        synthesize: (request) =>
          Effect.suspend(() => {
            requests.push(request)
            const kind = failures.shift()
            if (kind !== undefined) {
              return Effect.fail(
                new SpeechError({ kind, model: request.model, description: `scripted ${kind} failure` })
              )
            }
            const spoken = new TextEncoder().encode(request.input)
            const speech: Speech = {
              audio: other
                ? new Uint8Array([0x49, 0x44, 0x33, ...spoken])
                : new Uint8Array([0x4f, 0x67, 0x67, 0x53, ...spoken]),
              format: other ? "other" : "ogg_opus",
              fileName: other ? "answer.mp3" : "answer.ogg",
              model: request.model,
              costUsd: speechCost(request.model, request.input.length)
            }
            return Effect.succeed(speech)
          })
      })

      const control = SpeechSynthesizerMemoryControl.of({
        requests: Effect.sync(() => [...requests]),
        failNext: (kind, times = 1) =>
          Effect.sync(() => {
            for (let i = 0; i < times; i++) failures.push(kind)
          }),
        answerOtherFormat: (next) =>
          Effect.sync(() => {
            other = next
          })
      })
      return Context.make(SpeechSynthesizer, synthesizer).pipe(
        Context.add(SpeechSynthesizerMemoryControl, control)
      )
    })
  )
