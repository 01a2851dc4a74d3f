/** The audit log, newest first, filtered by admin, action, object and time (owners only, by accessRules.ts). */

import { AuditLog } from "@botfleet/application"
import { SerialCursor } from "@botfleet/domain"
import { Effect } from "effect"
import { HttpApiBuilder } from "effect/http-api"
import { Api } from "../Api.ts"
import { pageOf } from "./pagination.ts"

export const AuditHandlers = HttpApiBuilder.group(
  Api,
  "audit",
  Effect.fn(function* (handlers) {
    const audit = yield* AuditLog
    return handlers.handle(
      "list",
      Effect.fn(function* ({ query }) {
        const page = yield* pageOf(query, SerialCursor)
        const found = yield* audit.list({
          ...page,
          adminId: query.adminId,
          action: query.action,
          objectId: query.objectId,
          from: query.from === undefined ? undefined : new Date(query.from),
          to: query.to === undefined ? undefined : new Date(query.to)
        })
        return {
          items: found.items.map((entry) => ({ ...entry, at: entry.at.toISOString() })),
          nextCursor: found.nextCursor
        }
      })
    )
  })
)
