/** The running summaries of long threads (domain/ThreadSummary.ts). */
import type { ChatId, ThreadSummary } from "@botfleet/domain"
import { Context, type Effect, type Option } from "effect"

export class ThreadSummaries extends Context.Service<
  ThreadSummaries,
  {
    /** The thread's newest summary (the one covering the most). */
    readonly latest: (
      chatId: ChatId,
      thread: number,
      topicId: number | null
    ) => Effect.Effect<Option.Option<ThreadSummary>>
    /**
     * Stores a summary unless one already covers the same span (its
     * `coversUpTo`): true when this one was stored.
     */
    readonly insert: (summary: ThreadSummary) => Effect.Effect<boolean>
    /** Every summary of a chat, newest first (its threads and topics together). */
    readonly listByChat: (chatId: ChatId, limit: number) => Effect.Effect<ReadonlyArray<ThreadSummary>>
  }
>()("@botfleet/application/ThreadSummaries") {}
