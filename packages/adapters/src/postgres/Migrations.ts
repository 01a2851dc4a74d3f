/**
 * SQL migrations from the top-level `migrations/` folder: files named
 * `NNNN_name.sql`, applied in order, each once, recorded in `schema_migrations`.
 */
import { readdir, readFile } from "node:fs/promises"
import path from "node:path"
import { fileURLToPath } from "node:url"
import { Effect, Schema } from "effect"
import { Migrator, SqlClient } from "effect/sql"
import { splitStatements } from "./splitStatements.ts"
import { describeSqlError } from "./sqlErrors.ts"

export const defaultMigrationsDir = fileURLToPath(new URL("../../../../migrations", import.meta.url))

export class MigrationFailed extends Schema.TaggedError<MigrationFailed>()("MigrationFailed", {
  message: Schema.String
}) {}

const FILE_NAME = /^(\d+)_([\w-]+)\.sql$/

/** Reads the folder; a migration runs its whole file as one script. */
export const sqlFileLoader = (directory: string): Migrator.Loader =>
  Effect.tryPromise({
    try: () => readdir(directory),
    catch: (cause) =>
      new Migrator.MigrationError({
        kind: "Failed",
        cause,
        message: `cannot read migrations folder ${directory}`
      })
  }).pipe(
    Effect.map((files) =>
      files
        .flatMap((file): Array<Migrator.ResolvedMigration> => {
          const match = FILE_NAME.exec(file)
          if (!match) return []
          const load = Effect.gen(function* () {
            const sql = yield* SqlClient.SqlClient
            const script = yield* Effect.promise(() => readFile(path.join(directory, file), "utf8"))
            for (const statement of splitStatements(script)) {
              yield* sql
                .unsafe(statement)
                .unprepared.pipe(
                  Effect.mapError(
                    (error) => new MigrationFailed({ message: `${file}: ${describeSqlError(error)}` })
                  )
                )
            }
          })
          return [[Number(match[1]), match[2]!, Effect.succeed(load)]]
        })
        .sort(([a], [b]) => a - b)
    )
  )

/** Applies pending migrations; the error names the file and the database's message. */
export const runMigrations = (directory = defaultMigrationsDir) =>
  Migrator.make({})({ loader: sqlFileLoader(directory), table: "schema_migrations" }).pipe(
    Effect.mapError((error) => {
      if (error._tag === "MigrationError") {
        const inner = error.cause instanceof MigrationFailed ? error.cause.message : error.message
        return new MigrationFailed({ message: `migration failed: ${inner}` })
      }
      return new MigrationFailed({ message: `migration failed: ${describeSqlError(error)}` })
    }),
    Effect.withSpan("Database.migrate")
  )
