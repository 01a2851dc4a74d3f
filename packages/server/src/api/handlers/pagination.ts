import { type CursorKind, KeysetCursor } from "@botfleet/domain"
import { Effect } from "effect"
import { BadRequest, error } from "../ApiErrors.ts"

export const DEFAULT_PAGE_SIZE = 50

/** The page request of a query, or 400 for a cursor this list's kind did not hand out. */
export const pageOf = (
  query: {
    readonly limit?: number | undefined
    readonly cursor?: string | undefined
  },
  kind: Pick<CursorKind<unknown>, "isValid"> = KeysetCursor
): Effect.Effect<{ readonly limit: number; readonly cursor: string | undefined }, BadRequest> =>
  query.cursor !== undefined && !kind.isValid(query.cursor)
    ? Effect.fail(new BadRequest(error("invalid_cursor", "cursor: not a cursor from a previous page")))
    : Effect.succeed({ limit: query.limit ?? DEFAULT_PAGE_SIZE, cursor: query.cursor })
