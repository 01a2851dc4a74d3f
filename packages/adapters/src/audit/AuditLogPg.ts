/** The audit log in `audit_log`, newest first, paged by id. */
import { type AuditEntry, AuditLog, type AuditOutcome } from "@botfleet/application"
import { pageSize, SerialCursor } from "@botfleet/domain"
import { Effect, Layer, Option } from "effect"
import { SqlClient } from "effect/sql"
import { auditPage } from "./auditPage.ts"

interface AuditRow {
  readonly id: string
  readonly at: Date
  readonly admin_id: string | null
  readonly admin_email: string | null
  readonly action: string
  readonly object_type: string | null
  readonly object_id: string | null
  readonly outcome: AuditOutcome
  readonly detail: string | null
  readonly address: string
}

const toEntry = (row: AuditRow): AuditEntry => ({
  id: Number(row.id),
  at: row.at,
  adminId: row.admin_id,
  adminEmail: row.admin_email,
  action: row.action,
  objectType: row.object_type,
  objectId: row.object_id,
  outcome: row.outcome,
  detail: row.detail,
  address: row.address
})

export const layer: Layer.Layer<AuditLog, never, SqlClient.SqlClient> = Layer.effect(
  AuditLog,
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    return AuditLog.of({
      record: (entry) =>
        sql`
          INSERT INTO audit_log (at, admin_id, admin_email, action, object_type, object_id, outcome, detail, address)
          VALUES (${entry.at}, ${entry.adminId}, ${entry.adminEmail}, ${entry.action}, ${entry.objectType},
                  ${entry.objectId}, ${entry.outcome}, ${entry.detail}, ${entry.address})`.pipe(
          Effect.asVoid,
          Effect.orDie,
          Effect.withSpan("AuditLog.record")
        ),
      list: (query) => {
        const size = pageSize(query.limit)
        const conditions = [
          ...Option.toArray(Option.map(SerialCursor.decode(query.cursor), (id) => sql`id < ${id}`)),
          ...(query.adminId === undefined ? [] : [sql`admin_id = ${query.adminId}`]),
          ...(query.action === undefined ? [] : [sql`action = ${query.action}`]),
          ...(query.objectId === undefined ? [] : [sql`object_id = ${query.objectId}`]),
          ...(query.from === undefined ? [] : [sql`at >= ${query.from}`]),
          ...(query.to === undefined ? [] : [sql`at < ${query.to}`])
        ]
        return sql<AuditRow>`
          SELECT * FROM audit_log WHERE ${sql.and(conditions)} ORDER BY id DESC LIMIT ${size + 1}`.pipe(
          Effect.map((rows) => auditPage(rows.map(toEntry), size)),
          Effect.orDie,
          Effect.withSpan("AuditLog.list")
        )
      }
    })
  })
)
