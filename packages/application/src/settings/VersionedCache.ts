/**
 * The one cache for settings read on the hot path (a bot and its token, a
 * provider and its key, a provider's HTTP client). An entry is good for the
 * version it was made at and no other: the caller says which version is
 * current, and an older entry is made again. Nothing expires by time, so an
 * edit is seen as soon as its version is, and an unchanged bot costs nothing.
 * Past `capacity` the entry used longest ago goes (a Map keeps insertion
 * order; a hit moves its key to the end).
 */
import { Effect } from "effect"

export interface VersionedCache<K, A> {
  /** The entry for `key` made at `version`, if there is one. */
  readonly find: (key: K, version: number) => A | undefined
  /** Stores `value` as read at `version`. */
  readonly set: (key: K, version: number, value: A) => void
  /** The entry for `key` made at `version`, or `make()` stored as that. */
  readonly get: (key: K, version: number, make: () => A) => A
  /** `get` for a value that takes an effect to load; a failure is not stored. */
  readonly getEffect: <E, R>(key: K, version: number, load: Effect.Effect<A, E, R>) => Effect.Effect<A, E, R>
  /** Forget `key` (its value is known to be stale before the version says so). */
  readonly invalidate: (key: K) => void
  readonly size: () => number
}

export const make = <K, A>(capacity: number): VersionedCache<K, A> => {
  const entries = new Map<K, { readonly version: number; readonly value: A }>()

  const hit = (key: K, version: number): { readonly value: A } | undefined => {
    const entry = entries.get(key)
    if (entry === undefined) return undefined
    entries.delete(key)
    if (entry.version !== version) return undefined
    entries.set(key, entry)
    return entry
  }

  const store = (key: K, version: number, value: A): A => {
    entries.delete(key)
    entries.set(key, { version, value })
    if (entries.size > capacity) {
      const oldest = entries.keys().next()
      if (!oldest.done) entries.delete(oldest.value)
    }
    return value
  }

  return {
    find: (key, version) => hit(key, version)?.value,
    set: (key, version, value) => {
      store(key, version, value)
    },
    get: (key, version, make) => {
      const entry = hit(key, version)
      return entry === undefined ? store(key, version, make()) : entry.value
    },
    getEffect: (key, version, load) =>
      Effect.suspend(() => {
        const entry = hit(key, version)
        return entry === undefined
          ? Effect.map(load, (value) => store(key, version, value))
          : Effect.succeed(entry.value)
      }),
    invalidate: (key) => {
      entries.delete(key)
    },
    size: () => entries.size
  }
}
