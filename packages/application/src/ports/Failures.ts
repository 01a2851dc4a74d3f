/**
 * Everything that gave up, in one list: failed replies and admin messages,
 * inbox updates parked as failed, outbox effects that ran out of attempts,
 * and knowledge documents whose indexing failed. Each is named by a
 * reference `kind:id` so one route retries any.
 */
import { Context, type Effect } from "effect"
import type { Page, PageRequest } from "./Repositories.ts"

export const FailureKinds = ["message", "update", "effect", "document"] as const
export type FailureKind = (typeof FailureKinds)[number]

export interface Failure {
  /** `message:<uuid>`, `update:<inbox row id>`, `effect:<outbox row id>` or `document:<uuid>`. */
  readonly ref: string
  readonly kind: FailureKind
  readonly botId: string | null
  readonly chatId: string | null
  readonly error: string | null
  /** Attempts made (null for messages: their attempts are the update's). */
  readonly attempts: number | null
  /** When it was stored (messages, effects) or given up (updates). */
  readonly at: Date
  /** What it is: the message text, "update 812 of chat …", the effect's kind, the document's name and base. */
  readonly summary: string
}

export interface FailureFilter {
  readonly botId?: string | undefined
  readonly kind?: FailureKind | undefined
}

export class FailureLog extends Context.Service<
  FailureLog,
  {
    /** Newest first. */
    readonly list: (filter: FailureFilter, page: PageRequest) => Effect.Effect<Page<Failure>>
    /** Puts a failed inbox update back in line; "missing" or "not_failed" otherwise. */
    readonly requeueUpdate: (id: number) => Effect.Effect<"requeued" | "missing" | "not_failed">
    /** Makes a failed outbox effect due again with a fresh set of attempts. */
    readonly requeueEffect: (id: number) => Effect.Effect<"requeued" | "missing" | "not_failed">
  }
>()("@botfleet/application/FailureLog") {}
