/**
 * Keyset pagination shared by the Postgres repositories and their in-memory
 * twins, so both hand out the same cursors and the same page sizes. A cursor
 * is the sort key and id of the last item of a page: the next page starts
 * strictly after it, so rows inserted meanwhile neither repeat nor shift pages.
 * Times are whole milliseconds: every time paged on (chats.last_message_at,
 * messages.created_at) is written from a JS Date, never by `now()`.
 */
import type { Page } from "@botfleet/application"
import { Effect, Option, Schema } from "effect"

export const MAX_PAGE_SIZE = 200

/** A page holds 1 to 200 items whatever the caller asks for. */
export const pageSize = (limit: number): number =>
  Number.isFinite(limit) ? Math.min(MAX_PAGE_SIZE, Math.max(1, Math.trunc(limit))) : MAX_PAGE_SIZE

/** The position after which a page starts: a time (epoch ms, or null for "never") and a row id. */
export interface CursorKey {
  readonly at: number | null
  readonly id: string
}

/**
 * Whole milliseconds from year 1 to the end of JS Date's range (year 275760),
 * which PostgreSQL's timestamptz also holds: any other time cannot be queried.
 */
export const CursorTime = Schema.Int.check(
  Schema.isBetween({ minimum: -62_135_596_800_000, maximum: 8.64e15 })
)

const CursorJson = Schema.fromJsonString(
  Schema.Tuple([Schema.NullOr(CursorTime), Schema.String.check(Schema.isUUID())])
)
const decodeJson = Schema.decodeUnknownOption(CursorJson)

export const encodeCursor = (key: CursorKey): string =>
  Buffer.from(JSON.stringify([key.at, key.id])).toString("base64url")

/** Whether a cursor is one we could have made (the API answers 400 otherwise). */
export const isValidCursor = (cursor: string): boolean =>
  cursor === "" || Option.isSome(decodeJson(Buffer.from(cursor, "base64url").toString("utf8")))

/**
 * The key of a cursor. The ports have no error for a malformed cursor, so one
 * is a defect; the API checks cursors with `isValidCursor` first.
 */
export const decodeCursor = (cursor: string | undefined): Effect.Effect<Option.Option<CursorKey>> => {
  if (cursor === undefined || cursor === "") return Effect.succeed(Option.none())
  return Option.match(decodeJson(Buffer.from(cursor, "base64url").toString("utf8")), {
    onNone: () => Effect.die(new Error("invalid pagination cursor")),
    onSome: ([at, id]) => Effect.succeed(Option.some({ at, id }))
  })
}

/**
 * Turns `size + 1` fetched items into a page: the extra item only tells that
 * there is a next page, which starts after the last item kept.
 */
export const toPage = <A>(
  fetched: ReadonlyArray<A>,
  size: number,
  keyOf: (item: A) => CursorKey
): Page<A> => {
  const items = fetched.slice(0, size)
  const last = items[items.length - 1]
  return {
    items,
    nextCursor: fetched.length > size && last !== undefined ? encodeCursor(keyOf(last)) : null
  }
}

/** Rows keyed by a bigserial and listed newest first (failed updates): the cursor is the last id. */
const SerialCursorJson = Schema.fromJsonString(Schema.Tuple([Schema.Int.check(Schema.isGreaterThan(0))]))
const decodeSerialJson = Schema.decodeUnknownOption(SerialCursorJson)

export const encodeSerialCursor = (id: number): string =>
  Buffer.from(JSON.stringify([id])).toString("base64url")

/** The last id of a serial cursor; none for no cursor or one we did not make. */
export const decodeSerialCursor = (cursor: string | undefined): Option.Option<number> =>
  cursor === undefined || cursor === ""
    ? Option.none()
    : Option.map(decodeSerialJson(Buffer.from(cursor, "base64url").toString("utf8")), ([id]) => id)

export const isValidSerialCursor = (cursor: string): boolean =>
  cursor === "" || Option.isSome(decodeSerialCursor(cursor))
