/**
 * The newest settings version this process (thread) has seen. Every change to
 * a bot or a provider moves the stored version (migration 0146), and the
 * inbox hands it out with each update it leases (`PendingUpdate`), so the
 * version seen here before an update is worked on is at least the one of
 * every edit committed before that update arrived. Caches of bots and
 * providers (`VersionedCache`) hold an entry for the version it was read at:
 * an admin's write is seen by the next update, in every process, with no
 * extra query and no timer.
 */
import { Context, Effect, Layer } from "effect"

export class SettingsVersion extends Context.Service<
  SettingsVersion,
  {
    /** A version read from the database; an older one than already seen changes nothing. */
    readonly observe: (version: number) => Effect.Effect<void>
    /** The newest version seen: what a cache entry must have been read at to be used. */
    readonly current: Effect.Effect<number>
    /** Called with each newer version from now on (the pipeline thread tells the HTTP thread). */
    readonly watch: (listener: (version: number) => void) => Effect.Effect<void>
  }
>()("@botfleet/application/SettingsVersion") {
  static readonly layer = Layer.sync(SettingsVersion, () => {
    let seen = 0
    const listeners: Array<(version: number) => void> = []
    return SettingsVersion.of({
      observe: (version) =>
        Effect.sync(() => {
          if (version <= seen) return
          seen = version
          for (const listener of listeners) listener(version)
        }),
      current: Effect.sync(() => seen),
      watch: (listener) =>
        Effect.sync(() => {
          listeners.push(listener)
        })
    })
  })
}
