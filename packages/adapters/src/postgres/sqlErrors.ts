/** Reading PostgreSQL's own message, code and constraint out of an `SqlError`. */
import { DataRefused } from "@botfleet/application"
import { Effect } from "effect"

interface ServerError {
  readonly message: string
  /** The SQLSTATE, e.g. "23503". */
  readonly code: string | undefined
  readonly constraint: string | undefined
}

/** The innermost error in a `reason`/`cause` chain (the server's message). */
export const serverErrorOf = (error: unknown): ServerError | undefined => {
  let current: unknown = error
  let found: ServerError | undefined
  for (let depth = 0; depth < 6 && current !== null && typeof current === "object"; depth++) {
    const value = current as {
      message?: unknown
      code?: unknown
      constraint?: unknown
      reason?: unknown
      cause?: unknown
    }
    if (current instanceof Error && typeof value.message === "string" && value.message) {
      found = {
        message: value.message,
        code: typeof value.code === "string" ? value.code : undefined,
        constraint: typeof value.constraint === "string" ? value.constraint : undefined
      }
    }
    current = value.reason ?? value.cause
  }
  return found
}

export const describeSqlError = (error: unknown): string =>
  serverErrorOf(error)?.message ?? (error instanceof Error ? error.message : String(error))

/** 23505: a unique constraint said no. */
export const isUniqueViolation = (error: unknown): boolean => serverErrorOf(error)?.code === "23505"

/**
 * SQLSTATE classes 22 (data exception: a number out of range, bad text) and
 * 23 (integrity constraint: not null, foreign key, check, unique): the data
 * itself is refused, and will be again. Anything else (a lost connection, a
 * timeout, a deadlock) may pass on a retry.
 */
export const dataRefusedOf = (error: unknown): DataRefused | undefined => {
  const server = serverErrorOf(error)
  const code = server?.code
  if (server === undefined || code === undefined || !(code.startsWith("22") || code.startsWith("23")))
    return undefined
  return new DataRefused({ sqlState: code, constraint: server.constraint ?? null, detail: server.message })
}

/**
 * `Effect.orDie` for repository statements: a refused write dies as
 * `DataRefused` (with its SQLSTATE and constraint), so the pipeline parks the
 * update at once; any other error dies as it was.
 */
export const orDieSql = <A, E, R>(self: Effect.Effect<A, E, R>): Effect.Effect<A, never, R> =>
  self.pipe(
    Effect.mapError((error) => dataRefusedOf(error) ?? error),
    Effect.orDie
  )
