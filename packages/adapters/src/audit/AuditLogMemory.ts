/** The audit log in memory, with the same filters, order and cursors as AuditLogPg. */
import { type AuditEntry, AuditLog } from "@botfleet/application"
import { pageSize, SerialCursor } from "@botfleet/domain"
import { Effect, Layer, Option } from "effect"
import { auditPage } from "./auditPage.ts"

export const layerMemory: Layer.Layer<AuditLog> = Layer.sync(AuditLog, () => {
  const entries: Array<AuditEntry> = []
  return AuditLog.of({
    record: (entry) => Effect.sync(() => void entries.push({ ...entry, id: entries.length + 1 })),
    list: (query) =>
      Effect.sync(() => {
        const size = pageSize(query.limit)
        const before = Option.getOrElse(SerialCursor.decode(query.cursor), () => Number.POSITIVE_INFINITY)
        const found = entries
          .filter(
            (entry) =>
              entry.id < before &&
              (query.adminId === undefined || entry.adminId === query.adminId) &&
              (query.action === undefined || entry.action === query.action) &&
              (query.objectId === undefined || entry.objectId === query.objectId) &&
              (query.from === undefined || entry.at >= query.from) &&
              (query.to === undefined || entry.at < query.to)
          )
          .reverse()
        return auditPage(found.slice(0, size + 1), size)
      })
  })
})
