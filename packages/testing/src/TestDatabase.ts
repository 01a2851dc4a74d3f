/**
 * Real PostgreSQL for tests: one server per test run (embedded, or the server
 * of `TEST_DATABASE_URL`), a migrated template database, and a fresh copy of
 * it for each test file, so files are isolated and start in milliseconds.
 *
 * The schema and the client come from the caller (the adapters' `Database`),
 * so this package depends on no Botfleet package and any of them may use it.
 */
import { randomBytes } from "node:crypto"
import { PgClient } from "@effect/sql-pg"
import { Context, Effect, Layer, Redacted } from "effect"
import { SqlClient } from "effect/sql"

/** Opens the app's database layer (migrating it) at a URL. */
export type Connect<ROut, E> = (url: Redacted.Redacted<string>) => Layer.Layer<ROut, E>

export const TEMPLATE_DATABASE = "botfleet_test_template"

/** A URL with its database swapped for `database`. */
export const withDatabase = (url: string, database: string): string => {
  const parsed = new URL(url)
  parsed.pathname = `/${database}`
  return parsed.toString()
}

const quoteIdentifier = (name: string) => `"${name.replace(/"/g, '""')}"`

/** Runs `f` with a short-lived client on the server's maintenance database. */
const onServer = <A, E>(serverUrl: string, f: (sql: SqlClient.SqlClient) => Effect.Effect<A, E>) =>
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    return yield* f(sql)
  }).pipe(
    Effect.provide(
      PgClient.layer({ url: Redacted.make(withDatabase(serverUrl, "postgres")), maxConnections: 2 })
    )
  )

/** Creates the template database, migrated by opening `connect` on it once (global setup). */
export const createTemplate = <ROut, E>(serverUrl: string, connect: Connect<ROut, E>) =>
  Effect.gen(function* () {
    yield* onServer(serverUrl, (sql) =>
      Effect.gen(function* () {
        yield* sql.unsafe(`DROP DATABASE IF EXISTS ${quoteIdentifier(TEMPLATE_DATABASE)} WITH (FORCE)`)
        yield* sql.unsafe(`CREATE DATABASE ${quoteIdentifier(TEMPLATE_DATABASE)}`)
      })
    )
    // Migrate the template, then close every connection so it can be copied.
    yield* Effect.scoped(Layer.build(connect(Redacted.make(withDatabase(serverUrl, TEMPLATE_DATABASE)))))
  })

/**
 * A fresh database copied from the template for the life of the layer, with
 * what `connect` provides (e.g. `SqlClient`, `PgClient`, `DatabaseInfo`) on it.
 */
export const layer = <ROut, E>(serverUrl: string, connect: Connect<ROut, E>) =>
  Layer.unwrap(
    Effect.gen(function* () {
      const name = `botfleet_test_${randomBytes(6).toString("hex")}`
      yield* Effect.acquireRelease(
        onServer(serverUrl, (sql) =>
          sql.unsafe(
            `CREATE DATABASE ${quoteIdentifier(name)} TEMPLATE ${quoteIdentifier(TEMPLATE_DATABASE)}`
          )
        ),
        () =>
          onServer(serverUrl, (sql) =>
            sql.unsafe(`DROP DATABASE IF EXISTS ${quoteIdentifier(name)} WITH (FORCE)`)
          ).pipe(Effect.ignore)
      )
      const url = Redacted.make(withDatabase(serverUrl, name))
      return connect(url).pipe(Layer.merge(Layer.succeed(TestDatabase, TestDatabase.of({ url, name }))))
    })
  ).pipe(Layer.orDie)

/** The URL of this test file's database, e.g. to start a server process on it. */
export class TestDatabase extends Context.Service<
  TestDatabase,
  { readonly url: Redacted.Redacted<string>; readonly name: string }
>()("@botfleet/testing/TestDatabase") {}
