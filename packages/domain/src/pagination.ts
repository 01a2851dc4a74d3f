/**
 * Keyset pagination, the same for every list, store and twin. A cursor is
 * the sort key of the last item of a page (base64url JSON): the next page
 * starts strictly after it, so rows inserted meanwhile neither repeat nor shift
 * pages. Each list has one cursor kind; the API answers 400 `invalid_cursor` to
 * anything its kind could not have made, so no malformed cursor reaches a store.
 * Times are whole milliseconds: every time paged on is written from a JS Date.
 */
import { Effect, Option, Schema } from "effect"

export const MAX_PAGE_SIZE = 200

/** A page holds 1 to 200 items whatever the caller asks for. */
export const pageSize = (limit: number): number =>
  Number.isFinite(limit) ? Math.min(MAX_PAGE_SIZE, Math.max(1, Math.trunc(limit))) : MAX_PAGE_SIZE

/**
 * Whole milliseconds from year 1 to the end of JS Date's range (year 275760),
 * which PostgreSQL's timestamptz also holds: any other time cannot be queried.
 */
export const CursorTime = Schema.Int.check(
  Schema.isBetween({ minimum: -62_135_596_800_000, maximum: 8.64e15 })
)

/** What `/api/failures` lists and retries: `message:<uuid>`, `update:<id>` or `effect:<id>`. */
export const FAILURE_REF_PATTERN =
  /^(message:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|update:[1-9]\d{0,15}|effect:[1-9]\d{0,15}|document:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$/

export interface CursorKind<A> {
  readonly encode: (position: A) => string
  /** The position of a cursor this kind made; none for no cursor, "" or anything else. */
  readonly decode: (cursor: string | undefined) => Option.Option<A>
  /** Whether the API should accept it ("" means the first page). */
  readonly isValid: (cursor: string) => boolean
  /** For stores, after the API checked the cursor: a malformed one here is a defect. */
  readonly decodeOrDie: (cursor: string | undefined) => Effect.Effect<Option.Option<A>>
}

const cursorKind = <A, I>(position: Schema.Codec<A, I>): CursorKind<A> => {
  const fromJson = Schema.decodeUnknownOption(Schema.fromJsonString(position))
  const toJson = Schema.encodeSync(Schema.fromJsonString(position))
  const decode = (cursor: string | undefined) =>
    cursor === undefined || cursor === ""
      ? Option.none<A>()
      : fromJson(Buffer.from(cursor, "base64url").toString("utf8"))
  return {
    encode: (value) => Buffer.from(toJson(value)).toString("base64url"),
    decode,
    isValid: (cursor) => cursor === "" || Option.isSome(decode(cursor)),
    decodeOrDie: (cursor) =>
      cursor !== undefined && cursor !== "" && Option.isNone(decode(cursor))
        ? Effect.die(new Error("invalid pagination cursor"))
        : Effect.succeed(decode(cursor))
  }
}

/** A kind whose position reads better as a value than as the tuple it is written as. */
const mapped = <T, A>(kind: CursorKind<T>, from: (tuple: T) => A, to: (value: A) => T): CursorKind<A> => ({
  encode: (value) => kind.encode(to(value)),
  decode: (cursor) => Option.map(kind.decode(cursor), from),
  isValid: kind.isValid,
  decodeOrDie: (cursor) => Effect.map(kind.decodeOrDie(cursor), Option.map(from))
})

export interface CursorKey {
  readonly at: number | null
  readonly id: string
}

/** Lists sorted by a time (or none: "never") and a uuid: chats, messages. */
export const KeysetCursor: CursorKind<CursorKey> = mapped(
  cursorKind(Schema.Tuple([Schema.NullOr(CursorTime), Schema.String.check(Schema.isUUID())])),
  ([at, id]) => ({ at, id }),
  (key) => [key.at, key.id] as const
)

const positiveId = Schema.Tuple([Schema.Int.check(Schema.isGreaterThan(0))])

/** Rows keyed by a bigserial, newest first (failed updates): the last id. */
export const SerialCursor: CursorKind<number> = mapped(
  cursorKind(positiveId),
  ([id]) => id,
  (id) => [id] as const
)

/** A bot's users in Telegram id order: the last user's id (a whole number above 0, as Telegram's are). */
export const UserCursor: CursorKind<number> = SerialCursor

/** Failures of every kind, newest first: a time and a failure reference. */
export const FailureCursor: CursorKind<{ readonly at: number; readonly ref: string }> = mapped(
  cursorKind(Schema.Tuple([CursorTime, Schema.String.check(Schema.isPattern(FAILURE_REF_PATTERN))])),
  ([at, ref]) => ({ at, ref }),
  (position) => [position.at, position.ref] as const
)

/**
 * Turns `size + 1` fetched items into a page: the extra item only tells that
 * there is a next page, which starts after the last item kept.
 */
export const toPage = <A>(
  fetched: ReadonlyArray<A>,
  size: number,
  keyOf: (item: A) => CursorKey
): { readonly items: ReadonlyArray<A>; readonly nextCursor: string | null } => {
  const items = fetched.slice(0, size)
  const last = items[items.length - 1]
  return {
    items,
    nextCursor: fetched.length > size && last !== undefined ? KeysetCursor.encode(keyOf(last)) : null
  }
}
