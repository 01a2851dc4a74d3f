import type { SqlError } from "effect/sql"
import { serverErrorOf } from "./sqlErrors.ts"

const CONSTRAINT_IN_MESSAGE = /unique constraint "([^"]+)"/

/**
 * The unique index or constraint a failed write ran into, or undefined when
 * the error is something else. The driver reports the name; the server's
 * message is the fallback when it could not.
 */
export const uniqueConstraintOf = (error: SqlError.SqlError): string | undefined => {
  if (error.reason._tag !== "UniqueViolation") return undefined
  if (error.reason.constraint !== "unknown") return error.reason.constraint
  return CONSTRAINT_IN_MESSAGE.exec(serverErrorOf(error)?.message ?? "")?.[1] ?? "unknown"
}
