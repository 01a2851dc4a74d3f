/** Reading PostgreSQL's own message and code out of an `SqlError`. */

interface ServerError {
  readonly message: string
  readonly code: string | undefined
}

/** The innermost error in a `reason`/`cause` chain (the server's message). */
export const serverErrorOf = (error: unknown): ServerError | undefined => {
  let current: unknown = error
  let found: ServerError | undefined
  for (let depth = 0; depth < 6 && current !== null && typeof current === "object"; depth++) {
    const value = current as { message?: unknown; code?: unknown; reason?: unknown; cause?: unknown }
    if (current instanceof Error && typeof value.message === "string" && value.message) {
      found = { message: value.message, code: typeof value.code === "string" ? value.code : undefined }
    }
    current = value.reason ?? value.cause
  }
  return found
}

export const describeSqlError = (error: unknown): string =>
  serverErrorOf(error)?.message ?? (error instanceof Error ? error.message : String(error))

/** 23505: a unique constraint said no. */
export const isUniqueViolation = (error: unknown): boolean => serverErrorOf(error)?.code === "23505"
