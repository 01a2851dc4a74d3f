/**
 * The one database connection of a process: `DATABASE_URL` when given,
 * otherwise the embedded PostgreSQL under `DATA_DIR`. Migrations run before
 * the layer is ready, so anything built on it sees the current schema.
 */
import { PgClient } from "@effect/sql-pg"
import { Cause, Context, Effect, Layer, Option, Redacted, Schema } from "effect"
import { SqlClient } from "effect/sql"
import { type EmbeddedPostgresError, startEmbeddedPostgres } from "./EmbeddedPostgres.ts"
import { defaultMigrationsDir, type MigrationFailed, runMigrations } from "./Migrations.ts"
import { describeSqlError } from "./sqlErrors.ts"

export class DatabaseUnavailable extends Schema.TaggedError<DatabaseUnavailable>()("DatabaseUnavailable", {
  message: Schema.String
}) {}

/** What the health endpoint tells operators about the database in use. */
export class DatabaseInfo extends Context.Service<
  DatabaseInfo,
  {
    readonly kind: "embedded" | "external"
    readonly host: string
    readonly port: number
    readonly database: string
    /** Where to connect, for another pool of this process (the pipeline thread). */
    readonly url: Redacted.Redacted<string>
    /** Round trip of a trivial query, for `/health/db`. */
    readonly ping: Effect.Effect<number, DatabaseUnavailable>
  }
>()("@botfleet/adapters/DatabaseInfo") {}

export interface DatabaseOptions {
  readonly url: Option.Option<Redacted.Redacted<string>>
  readonly dataDir: string
  readonly maxConnections?: number | undefined
  readonly migrationsDir?: string | undefined
  /** Tests: throw-away embedded data without fsync. */
  readonly ephemeral?: boolean | undefined
}

export type DatabaseError = DatabaseUnavailable | EmbeddedPostgresError | MigrationFailed

/** Parses a Postgres URL without echoing it (it carries a password). */
export const parseDatabaseUrl = (url: Redacted.Redacted<string>) => {
  let parsed: URL
  try {
    parsed = new URL(Redacted.value(url))
  } catch {
    return Option.none()
  }
  if (parsed.protocol !== "postgres:" && parsed.protocol !== "postgresql:") return Option.none()
  return Option.some({
    host: parsed.hostname || "localhost",
    port: parsed.port ? Number(parsed.port) : 5432,
    database: decodeURIComponent(parsed.pathname.replace(/^\//, "")) || "postgres"
  })
}

const describe = describeSqlError

/** A pool on a URL, checked with one query so a dead server fails start-up. */
export const clientLayer = (
  url: Redacted.Redacted<string>,
  maxConnections = 20
): Layer.Layer<SqlClient.SqlClient | PgClient.PgClient, DatabaseUnavailable> =>
  PgClient.layer({
    url,
    maxConnections,
    connectTimeout: "5 seconds",
    applicationName: "botfleet",
    // Statements from concurrent fibers share a connection and go out in one write:
    // fewer syscalls and round trips under load (measured in docs/benchmarks.md).
    multiplex: true
  }).pipe(
    Layer.tap((context) =>
      Context.get(context, SqlClient.SqlClient)`SELECT 1`.pipe(
        Effect.timeout("10 seconds"),
        Effect.mapError(
          (cause) => new DatabaseUnavailable({ message: `database unreachable: ${describe(cause)}` })
        )
      )
    ),
    Layer.catchCause((cause) => {
      const failure = Cause.squash(cause)
      return Layer.effectContext<SqlClient.SqlClient | PgClient.PgClient, DatabaseUnavailable, never>(
        Effect.fail(
          failure instanceof DatabaseUnavailable
            ? failure
            : new DatabaseUnavailable({ message: `database unreachable: ${describe(failure)}` })
        )
      )
    })
  )

const infoLayer = (
  kind: "embedded" | "external",
  host: string,
  port: number,
  database: string,
  url: Redacted.Redacted<string>
) =>
  Layer.effect(
    DatabaseInfo,
    Effect.gen(function* () {
      const sql = yield* SqlClient.SqlClient
      const ping = Effect.gen(function* () {
        const started = performance.now()
        yield* sql`SELECT 1`.pipe(Effect.timeout("2 seconds"))
        return Math.round((performance.now() - started) * 100) / 100
      }).pipe(Effect.mapError((cause) => new DatabaseUnavailable({ message: describe(cause) })))
      return DatabaseInfo.of({ kind, host, port, database, url, ping })
    })
  )

const migrated = (directory: string) => Layer.effectDiscard(runMigrations(directory))

/** The database at `url`, migrated (tests: `TestDatabase.layer(serverUrl(), Database.layerAt)`). */
export const layerAt = (url: Redacted.Redacted<string>) => layer({ url: Option.some(url), dataDir: "" })

/** SqlClient, PgClient and DatabaseInfo, with the schema migrated. */
export const layer = (
  options: DatabaseOptions
): Layer.Layer<SqlClient.SqlClient | PgClient.PgClient | DatabaseInfo, DatabaseError> => {
  const migrationsDir = options.migrationsDir ?? defaultMigrationsDir
  return Option.match(options.url, {
    onSome: (url) => {
      const target = Option.getOrElse(parseDatabaseUrl(url), () => ({ host: "?", port: 0, database: "?" }))
      const client = clientLayer(url, options.maxConnections)
      return Layer.mergeAll(
        infoLayer("external", target.host, target.port, target.database, url),
        migrated(migrationsDir)
      ).pipe(Layer.provideMerge(client))
    },
    onNone: () =>
      Layer.unwrap(
        Effect.map(
          startEmbeddedPostgres({ dataDir: options.dataDir, ephemeral: options.ephemeral }),
          (server) =>
            Layer.mergeAll(
              infoLayer("embedded", "127.0.0.1", server.port, server.database, server.url),
              migrated(migrationsDir)
            ).pipe(Layer.provideMerge(clientLayer(server.url, options.maxConnections)))
        )
      )
  })
}
