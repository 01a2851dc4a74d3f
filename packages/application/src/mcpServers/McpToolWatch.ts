/**
 * Hearing MCP servers change their tools between calls: one stream per
 * server an active bot uses, per process (McpConnector.watchTools). When it
 * opens (changes before it were not heard) and each time the server says its
 * tools changed, the stored list is listed again (McpServerService.refresh),
 * so the next reply, in any process, offers the new list with no admin
 * pressing refresh.
 *
 * Bounded: the set of servers follows the bots, synced when a newer settings
 * version is seen (a bot edited) and every SYNC_EVERY (a server's URL or
 * headers edited restart its stream); a server no bot uses has its stream
 * closed. A server that announces no changes (no `capabilities.tools.listChanged`,
 * or no listening stream) is asked again after QUIET_RETRY; a stream that
 * fails is opened again after a backoff from 1 s to BACKOFF_MAX. Every
 * stream is a fiber of the caller's scope: shutdown interrupts it, which
 * closes its socket.
 */
import type { McpServerId } from "@botfleet/domain"
import { Duration, Effect, Exit, FiberMap, Queue, Stream } from "effect"
import { BotRepository } from "../ports/Repositories.ts"
import { SettingsVersion } from "../settings/SettingsVersion.ts"
import { McpServerService } from "./McpServerService.ts"

export interface McpToolWatchOptions {
  /** How often the set of servers is read again without a settings change. */
  readonly syncEvery: Duration.Input
  /** A server that announces no changes is asked again after this. */
  readonly quietRetry: Duration.Input
  readonly backoffMax: Duration.Input
}

export const defaultMcpToolWatchOptions: McpToolWatchOptions = {
  syncEvery: "1 minute",
  quietRetry: "1 hour",
  backoffMax: "5 minutes"
}

/** Runs until interrupted; meant to be forked in a scope. */
export const watchMcpTools = (options: McpToolWatchOptions = defaultMcpToolWatchOptions) =>
  Effect.gen(function* () {
    const mcp = yield* McpServerService
    const bots = yield* BotRepository
    const settings = yield* SettingsVersion
    const streams = yield* FiberMap.make<string>()
    const wake = yield* Queue.sliding<void>(1)
    yield* settings.watch(() => {
      Queue.offerUnsafe(wake, undefined)
    })
    const backoffMax = Duration.toMillis(Duration.fromInputUnsafe(options.backoffMax))

    const refresh = (id: McpServerId) =>
      mcp.refresh(id).pipe(
        Effect.catchCause((cause) =>
          Effect.logWarning("MCP server tools not listed again after a change", {
            mcp_server_id: id,
            cause
          })
        )
      )

    /** One server's stream, opened again and again until the server is gone. */
    const watchOne = (id: McpServerId) =>
      Effect.gen(function* () {
        let failures = 0
        while (true) {
          let quiet = false
          const exit = yield* mcp.watch(id).pipe(
            Stream.runForEach((event) =>
              event === "unannounced"
                ? Effect.sync(() => {
                    quiet = true
                  })
                : Effect.andThen(
                    Effect.sync(() => {
                      failures = 0
                    }),
                    refresh(id)
                  )
            ),
            Effect.exit
          )
          if (Exit.isFailure(exit)) {
            const error = exit.cause.reasons.find((reason) => reason._tag === "Fail")
            if (error?._tag === "Fail" && error.error._tag === "McpServerNotFound") return
            failures += 1
            yield* Effect.logDebug("MCP server's tool stream failed", { mcp_server_id: id, failures })
          }
          yield* Effect.sleep(
            quiet
              ? Duration.fromInputUnsafe(options.quietRetry)
              : Duration.millis(Math.min(backoffMax, 1000 * 2 ** Math.min(failures, 20)))
          )
        }
      })

    /** Each used server under a key that changes when its URL or headers do; the rest closed. */
    const sync = Effect.gen(function* () {
      const used = new Set((yield* bots.list).filter((bot) => bot.active).flatMap((bot) => bot.mcpServerIds))
      const wanted = new Map<string, McpServerId>()
      for (const server of yield* mcp.list) {
        if (used.has(server.id)) wanted.set(`${server.id}@${server.updatedAt.getTime()}`, server.id)
      }
      const stale = [...streams].map(([key]) => key).filter((key) => !wanted.has(key))
      for (const key of stale) yield* FiberMap.remove(streams, key)
      for (const [key, id] of wanted) {
        yield* FiberMap.run(streams, key, watchOne(id), { onlyIfMissing: true })
      }
    }).pipe(Effect.catchCause((cause) => Effect.logError("MCP tool watch could not sync", cause)))

    while (true) {
      yield* sync
      yield* Effect.raceFirst(Queue.take(wake), Effect.sleep(options.syncEvery))
    }
  })
