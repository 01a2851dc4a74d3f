/**
 * What a handler may add to its request's audit entry: the id of what it
 * created (not in the path) and a short, secret-free note. Provided by the
 * Authentication middleware, which writes the entry once the change is made.
 */
import { Context, Effect } from "effect"

export interface AuditNoteFields {
  readonly objectId?: string | undefined
  readonly detail?: string | undefined
}

export class AuditNote extends Context.Service<
  AuditNote,
  { readonly add: (note: AuditNoteFields) => void }
>()("@botfleet/server/api/AuditNote") {}

export const noteForAudit = (note: AuditNoteFields) => Effect.map(AuditNote, (notes) => notes.add(note))
