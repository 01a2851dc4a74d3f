/**
 * The running summary of a long thread: the older turns folded into one text
 * by the model, which leads the context of later answers. Each summary covers
 * the thread from its start up to one message (the earlier summary included);
 * a thread has at most one summary per such span.
 */
import { Schema } from "effect"
import { BotId, ChatId, MessageId } from "./ids.ts"

export class ThreadSummary extends Schema.Class<ThreadSummary>("ThreadSummary")({
  id: Schema.String,
  botId: BotId,
  chatId: ChatId,
  thread: Schema.Int,
  /** The forum topic; null outside topics. */
  topicId: Schema.NullOr(Schema.Int),
  /** The newest message folded in; every older message of the thread is covered too. */
  coversUpTo: MessageId,
  /** That message's time: later messages are those after it in (created_at, id) order. */
  coversUpToAt: Schema.Date,
  text: Schema.String,
  model: Schema.String,
  inputTokens: Schema.Int,
  outputTokens: Schema.Int,
  costUsd: Schema.Number,
  /** The message whose answer made the summary and pays for it. */
  chargedTo: MessageId,
  createdAt: Schema.Date
}) {}

/** Whether a message of the thread is newer than what `summary` covers. */
export const isAfter = (
  summary: Pick<ThreadSummary, "coversUpTo" | "coversUpToAt">,
  message: { readonly id: string; readonly createdAt: Date }
): boolean => {
  const at = message.createdAt.getTime() - summary.coversUpToAt.getTime()
  return at > 0 || (at === 0 && message.id > summary.coversUpTo)
}
