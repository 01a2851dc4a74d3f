/**
 * A PostgreSQL with pgvector for tests and the benchmark: PGlite (PostgreSQL
 * 18 compiled to WebAssembly, in this process) with its pgvector build,
 * served over the wire protocol on a loopback port, so the real adapters
 * reach it through @effect/sql-pg like any server. Neither the embedded
 * PostgreSQL nor this machine's Debian has a pgvector binary; this is the
 * real extension's code all the same.
 *
 * PGlite is one session: the socket server takes one connection at a time,
 * so a client must use a pool of one (two connections would share one
 * session, and one's transaction would swallow the other's statements).
 * It is single-threaded WebAssembly: its timings are not a server's.
 */
import { PGlite } from "@electric-sql/pglite"
import { vector } from "@electric-sql/pglite-pgvector"
import { PGLiteSocketServer } from "@electric-sql/pglite-socket"
import { Context, Effect, Layer, Redacted, Schedule } from "effect"

export class PgliteVector extends Context.Service<
  PgliteVector,
  {
    /** `postgres://…@127.0.0.1:<port>/postgres`: use it with a pool of one connection. */
    readonly url: Redacted.Redacted<string>
    /**
     * Waits until no client is connected: the server lets a closed pool go a moment
     * after it closed, and refuses a new connection until then.
     */
    readonly idle: Effect.Effect<void>
  }
>()("@botfleet/testing/PgliteVector") {}

/** Starts the database and its socket server for the life of the layer (in memory, nothing on disk). */
export const layer: Layer.Layer<PgliteVector> = Layer.effect(
  PgliteVector,
  Effect.gen(function* () {
    const db = yield* Effect.acquireRelease(
      Effect.promise(() => PGlite.create({ extensions: { vector } })),
      (db) => Effect.promise(() => db.close())
    )
    const server = yield* Effect.acquireRelease(
      Effect.promise(async () => {
        const server = new PGLiteSocketServer({ db, host: "127.0.0.1", port: 0, maxConnections: 1 })
        await server.start()
        return server
      }),
      (server) => Effect.promise(() => server.stop())
    )
    // getServerConn() is "host:port" once listening on a port chosen by the system.
    const address = server.getServerConn()
    const idle = Effect.suspend(() =>
      server.getStats().activeConnections === 0 ? Effect.void : Effect.fail("busy" as const)
    ).pipe(Effect.retry({ schedule: Schedule.spaced("20 millis"), times: 250 }), Effect.ignore)
    return PgliteVector.of({ url: Redacted.make(`postgres://postgres:postgres@${address}/postgres`), idle })
  })
)
