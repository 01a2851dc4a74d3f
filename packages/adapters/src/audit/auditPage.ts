/** Audit entries are paged by id, newest first: the cursor is the last id of the previous page. */
import type { AuditEntry, Page } from "@botfleet/application"
import { SerialCursor } from "@botfleet/domain"

/** `size + 1` fetched entries → a page; the extra one only tells that there is a next page. */
export const auditPage = (fetched: ReadonlyArray<AuditEntry>, size: number): Page<AuditEntry> => {
  const items = fetched.slice(0, size)
  const last = items[items.length - 1]
  return { items, nextCursor: fetched.length > size && last ? SerialCursor.encode(last.id) : null }
}
