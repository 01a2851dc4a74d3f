/** The in-memory twin of ThreadSummariesPg: the same unique span and the same order. */
import { ThreadSummaries } from "@botfleet/application"
import type { ChatId, ThreadSummary } from "@botfleet/domain"
import { Effect, Layer, Option, Ref } from "effect"

/** Newest first: by the covered message's time, then its id. */
const newestFirst = (a: ThreadSummary, b: ThreadSummary): number =>
  b.coversUpToAt.getTime() - a.coversUpToAt.getTime() ||
  (a.coversUpTo < b.coversUpTo ? 1 : a.coversUpTo > b.coversUpTo ? -1 : 0)

/** What `numeric(14, 8)` keeps of the cost, so both twins hand back the same value. */
const asStored = (summary: ThreadSummary): ThreadSummary =>
  ({ ...summary, costUsd: Math.round(summary.costUsd * 1e8) / 1e8 }) as ThreadSummary

export const layerMemory: Layer.Layer<ThreadSummaries> = Layer.effect(
  ThreadSummaries,
  Effect.gen(function* () {
    const stored = yield* Ref.make<ReadonlyArray<ThreadSummary>>([])

    const latest = (chatId: ChatId, thread: number, topicId: number | null) =>
      Effect.map(Ref.get(stored), (all) =>
        Option.fromUndefinedOr(
          all
            .filter(
              (summary) =>
                summary.chatId === chatId && summary.thread === thread && summary.topicId === topicId
            )
            .toSorted(newestFirst)[0]
        )
      )

    const insert = (summary: ThreadSummary) =>
      Ref.modify(stored, (all) =>
        all.some((other) => other.coversUpTo === summary.coversUpTo)
          ? [false, all]
          : [true, [...all, asStored(summary)]]
      )

    const listByChat = (chatId: ChatId, limit: number) =>
      Effect.map(Ref.get(stored), (all) =>
        all
          .filter((summary) => summary.chatId === chatId)
          .toSorted(newestFirst)
          .slice(0, Math.max(1, Math.trunc(limit)))
      )

    return ThreadSummaries.of({ latest, insert, listByChat })
  })
)
