/**
 * The audit log: who did what to which object, when and from where. An entry
 * never holds a secret (no token, key, password or request body): callers
 * pass names and ids only.
 */
import { Context, type Effect } from "effect"
import type { Page } from "./Repositories.ts"

/** `ok`: the change was made; `refused`: the admin's role does not allow it, nothing changed. */
export type AuditOutcome = "ok" | "refused"

export interface AuditEntryInput {
  readonly at: Date
  /** null for what nobody signed in did (a failed login). */
  readonly adminId: string | null
  readonly adminEmail: string | null
  /** `<object type>.<what>`, e.g. `bot.disable`, `admin.invite`. */
  readonly action: string
  readonly objectType: string | null
  readonly objectId: string | null
  readonly outcome: AuditOutcome
  /** A short, secret-free note, e.g. `role: viewer -> operator`. */
  readonly detail: string | null
  /** The client's address as `clientAddressOf` tells it. */
  readonly address: string
}

export interface AuditEntry extends AuditEntryInput {
  readonly id: number
}

export interface AuditQuery {
  readonly adminId?: string | undefined
  readonly action?: string | undefined
  readonly objectId?: string | undefined
  /** Inclusive. */
  readonly from?: Date | undefined
  /** Exclusive. */
  readonly to?: Date | undefined
  readonly limit: number
  /** From a previous page; the API checks it first (a malformed one is a defect here). */
  readonly cursor?: string | undefined
}

export class AuditLog extends Context.Service<
  AuditLog,
  {
    readonly record: (entry: AuditEntryInput) => Effect.Effect<void>
    /** Newest first. */
    readonly list: (query: AuditQuery) => Effect.Effect<Page<AuditEntry>>
  }
>()("@botfleet/application/AuditLog") {}
