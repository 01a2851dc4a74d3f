/**
 * In-memory LanguageModel for use-case tests: deterministic replies, every
 * request recorded, failures scripted through `LanguageModelMemoryControl`.
 * Each scripted failure stands for a whole failed `complete` of one model
 * (the real adapter's retries included); a configured fallback model then
 * gets its own try, as in the real adapter. `stream` gives the same answer
 * word by word. A reply may ask for tools (`MemoryAnswer`), streamed or not.
 */
import {
  type Completion,
  type CompletionEvent,
  type CompletionRequest,
  LanguageModel,
  LlmError,
  type LlmErrorKind,
  type ToolCall
} from "@botfleet/application"
import { Context, Effect, Layer, Stream } from "effect"
import { costOf, type PriceTable } from "./prices.ts"

/** The whole request, endpoint (providers) and tuning included, so tests can see where it went. */
export type MemoryRequest = CompletionRequest

/** A tiny table so tests can assert costs: 1 and 2 USD per million tokens for "test-model". */
export const memoryPrices: PriceTable = new Map([
  ["test-model", { input: 1, output: 2 }],
  ["gpt-4o-mini", { input: 0.15, output: 0.6 }]
])

/** A scripted answer: text, tool calls, or both. */
export interface MemoryAnswer {
  readonly text: string
  readonly toolCalls?: ReadonlyArray<ToolCall> | undefined
}

export type MemoryReply = (request: MemoryRequest) => string | MemoryAnswer

export interface LanguageModelMemoryOptions {
  /** Default: `echo: <last user message>`. */
  readonly reply?: MemoryReply | undefined
  readonly prices?: PriceTable | undefined
  /** Answers when the requested model fails with a retryable error. */
  readonly fallbackModel?: string | undefined
}

export class LanguageModelMemoryControl extends Context.Service<
  LanguageModelMemoryControl,
  {
    /** Every model try, oldest first: a fallback try is recorded after the failed primary one. */
    readonly requests: Effect.Effect<ReadonlyArray<MemoryRequest>>
    readonly setReply: (reply: MemoryReply) => Effect.Effect<void>
    /**
     * The next `times` model tries fail with this error; a bare kind makes an
     * LlmError naming the requested model. `Infinity` fails every try.
     */
    readonly failNext: (error: LlmError | LlmErrorKind, times?: number) => Effect.Effect<void>
    /** Switches the fallback behaviour on (a model name) or off (undefined). */
    readonly setFallbackModel: (model: string | undefined) => Effect.Effect<void>
    /**
     * conversations: the next streamed answer stops with this error
     * after `deltas` pieces of text, as a connection lost mid-answer does.
     */
    readonly failNextStreamAfter: (deltas: number, kind: LlmErrorKind) => Effect.Effect<void>
    /** Forgets recorded requests and scripted failures. */
    readonly clear: Effect.Effect<void>
  }
>()("@botfleet/adapters/LanguageModelMemoryControl") {}

export const echoReply = (request: MemoryRequest): string =>
  `echo: ${request.messages.findLast((turn) => turn.role === "user")?.content ?? ""}`

const wordCount = (text: string): number => text.split(/\s+/).filter((word) => word !== "").length

export const layerMemory = (
  options: LanguageModelMemoryOptions = {}
): Layer.Layer<LanguageModel | LanguageModelMemoryControl> =>
  Layer.effectContext(
    Effect.sync(() => {
      const prices = options.prices ?? memoryPrices
      let reply: MemoryReply = options.reply ?? echoReply
      let fallbackModel = options.fallbackModel
      let requests: Array<MemoryRequest> = []
      let failures: Array<{ readonly error: LlmError | LlmErrorKind; remaining: number }> = []
      let streamBreak: { readonly deltas: number; readonly kind: LlmErrorKind } | undefined

      /** One model try: records it, then fails if a failure is scripted. */
      const tryModel = (request: MemoryRequest): Effect.Effect<Completion, LlmError> =>
        Effect.suspend(() => {
          requests.push(request)
          const scripted = failures[0]
          if (scripted !== undefined) {
            const failure = scripted.error
            scripted.remaining -= 1
            if (scripted.remaining <= 0) failures.shift()
            return Effect.fail(
              typeof failure === "string"
                ? new LlmError({
                    kind: failure,
                    model: request.model,
                    description: `scripted ${failure} failure`,
                    retryAfterSeconds: null
                  })
                : failure
            )
          }
          const given = reply(request)
          const text = typeof given === "string" ? given : given.text
          const toolCalls = typeof given === "string" ? [] : (given.toolCalls ?? [])
          const inputTokens = request.messages.reduce((sum, turn) => sum + wordCount(turn.content), 0)
          const outputTokens = wordCount(text)
          // A provider's prices add to the table, as in the real adapter.
          const table =
            request.endpoint === undefined
              ? prices
              : new Map([...prices, ...Object.entries(request.endpoint.prices)])
          return Effect.succeed({
            text,
            model: request.model,
            inputTokens,
            outputTokens,
            costUsd: costOf(request.model, inputTokens, outputTokens, table),
            usedFallback: false,
            ...(toolCalls.length === 0 ? {} : { toolCalls })
          })
        })

      const complete = Effect.fn("LanguageModel.complete")(function* (request: MemoryRequest) {
        // Absent: the configured fallback; null: none (as in the real adapter).
        const fallback =
          request.fallbackModel === undefined ? fallbackModel : (request.fallbackModel ?? undefined)
        return yield* tryModel(request).pipe(
          Effect.catch((error) =>
            fallback !== undefined && fallback !== request.model && error.isRetryable
              ? tryModel({ ...request, model: fallback }).pipe(
                  Effect.map((completion): Completion => ({ ...completion, usedFallback: true }))
                )
              : Effect.fail(error)
          )
        )
      })

      // The same answer in pieces: each word with the space before it, then the whole completion.
      const stream = (request: MemoryRequest): Stream.Stream<CompletionEvent, LlmError> =>
        Stream.unwrap(
          Effect.map(complete(request), (completion) => {
            const deltas = (completion.text.match(/\s*\S+|\s+$/g) ?? []).map((text) => ({
              _tag: "TextDelta" as const,
              text
            }))
            const broken = streamBreak
            streamBreak = undefined
            if (broken !== undefined) {
              const error = new LlmError({
                kind: broken.kind,
                model: request.model,
                description: `scripted ${broken.kind} failure mid-stream`,
                retryAfterSeconds: null
              })
              return Stream.concat(Stream.fromIterable(deltas.slice(0, broken.deltas)), Stream.fail(error))
            }
            return Stream.fromIterable<CompletionEvent>([...deltas, { _tag: "Finished", completion }])
          })
        )

      const control = LanguageModelMemoryControl.of({
        requests: Effect.sync(() => requests.slice()),
        setReply: (next) =>
          Effect.sync(() => {
            reply = next
          }),
        failNext: (error, times = 1) =>
          Effect.sync(() => {
            if (times > 0) failures.push({ error, remaining: times })
          }),
        setFallbackModel: (model) =>
          Effect.sync(() => {
            fallbackModel = model
          }),
        failNextStreamAfter: (deltas, kind) =>
          Effect.sync(() => {
            streamBreak = { deltas, kind }
          }),
        clear: Effect.sync(() => {
          requests = []
          failures = []
          streamBreak = undefined
        })
      })

      return Context.make(LanguageModel, LanguageModel.of({ complete, stream })).pipe(
        Context.add(LanguageModelMemoryControl, control)
      )
    })
  )
