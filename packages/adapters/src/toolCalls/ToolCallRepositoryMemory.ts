/** The in-memory twin of ToolCallRepositoryPg: the same keys, order and insert-if-absent. */
import { type StoredToolCall, ToolCallRepository } from "@botfleet/application"
import type { MessageId } from "@botfleet/domain"
import { Effect, Layer, Ref } from "effect"

const keyOf = (call: { readonly messageId: string; readonly step: number; readonly callId: string }) =>
  `${call.messageId}/${call.step}/${call.callId}`

export const layerMemory: Layer.Layer<ToolCallRepository> = Layer.effect(
  ToolCallRepository,
  Effect.gen(function* () {
    const store = yield* Ref.make<ReadonlyMap<string, StoredToolCall>>(new Map())

    const forMessages = (ids: ReadonlyArray<MessageId>) =>
      Effect.map(Ref.get(store), (calls) =>
        [...calls.values()]
          .filter((call) => ids.includes(call.messageId))
          .sort(
            (a, b) =>
              (a.messageId < b.messageId ? -1 : a.messageId > b.messageId ? 1 : 0) ||
              a.step - b.step ||
              a.position - b.position
          )
      )

    const start = (calls: ReadonlyArray<StoredToolCall>) =>
      Ref.update(store, (stored) => {
        const next = new Map(stored)
        for (const call of calls) if (!next.has(keyOf(call))) next.set(keyOf(call), call)
        return next
      })

    const finish = (
      key: { readonly messageId: MessageId; readonly step: number; readonly callId: string },
      outcome: { readonly result: string; readonly isError: boolean; readonly at: Date }
    ) =>
      Ref.update(store, (stored) => {
        const call = stored.get(keyOf(key))
        if (call === undefined) return stored
        return new Map(stored).set(keyOf(key), {
          ...call,
          status: "finished",
          result: outcome.result,
          isError: outcome.isError,
          finishedAt: outcome.at
        })
      })

    return ToolCallRepository.of({ forMessages, start, finish })
  })
)
