/**
 * The in-memory Transcriber for use-case tests (conversations): the
 * transcript is scripted per file content, every request is recorded, and
 * failures are scripted like the memory chat model's.
 */
import { Transcriber, TranscriptionError, type TranscriptionInput } from "@botfleet/application"
import { Context, Effect, Layer } from "effect"
import { transcriptionCost } from "./TranscriberOpenAI.ts"

export const MEMORY_TRANSCRIBE_MODEL = "gpt-4o-mini-transcribe"

export class TranscriberMemoryControl extends Context.Service<
  TranscriberMemoryControl,
  {
    readonly requests: Effect.Effect<ReadonlyArray<TranscriptionInput>>
    /** What the audio "says"; default: its bytes read as UTF-8 text. */
    readonly setTranscript: (transcript: (input: TranscriptionInput) => string) => Effect.Effect<void>
    readonly failNext: (kind: TranscriptionError["kind"], times?: number) => Effect.Effect<void>
  }
>()("@botfleet/adapters/TranscriberMemoryControl") {}

export const layerMemory = (
  options: { readonly maxSeconds?: number } = {}
): Layer.Layer<Transcriber | TranscriberMemoryControl> =>
  Layer.effectContext(
    Effect.sync(() => {
      const requests: Array<TranscriptionInput> = []
      const failures: Array<TranscriptionError["kind"]> = []
      let transcript = (input: TranscriptionInput) => new TextDecoder().decode(input.audio)

      const transcriber = Transcriber.of({
        maxSeconds: options.maxSeconds ?? 300,
        transcribe: (input) =>
          Effect.suspend(() => {
            requests.push(input)
            const kind = failures.shift()
            if (kind !== undefined) {
              return Effect.fail(
                new TranscriptionError({
                  kind,
                  model: MEMORY_TRANSCRIBE_MODEL,
                  description: `scripted ${kind} failure`,
                  retryAfterSeconds: null
                })
              )
            }
            return Effect.succeed({
              text: transcript(input),
              model: MEMORY_TRANSCRIBE_MODEL,
              costUsd: transcriptionCost(MEMORY_TRANSCRIBE_MODEL, input.durationSeconds)
            })
          })
      })

      const control = TranscriberMemoryControl.of({
        requests: Effect.sync(() => [...requests]),
        setTranscript: (next) =>
          Effect.sync(() => {
            transcript = next
          }),
        failNext: (kind, times = 1) =>
          Effect.sync(() => {
            for (let i = 0; i < times; i++) failures.push(kind)
          })
      })
      return Context.make(Transcriber, transcriber).pipe(Context.add(TranscriberMemoryControl, control))
    })
  )
