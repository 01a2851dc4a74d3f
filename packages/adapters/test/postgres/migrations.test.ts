import { mkdtempSync, readFileSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import path from "node:path"
import { serverUrl, TestDatabase } from "@botfleet/testing"
import { assert, layer } from "@effect/vitest"
import { Effect } from "effect"
import { SqlClient } from "effect/sql"
import * as Database from "../../src/postgres/Database.ts"
import { defaultMigrationsDir, runMigrations } from "../../src/postgres/Migrations.ts"
import { splitStatements } from "../../src/postgres/splitStatements.ts"
import { describeSqlError } from "../../src/postgres/sqlErrors.ts"

const folderWith = (files: Record<string, string>) => {
  const dir = mkdtempSync(path.join(tmpdir(), "botfleet-migrations-"))
  for (const [name, body] of Object.entries(files)) writeFileSync(path.join(dir, name), body)
  return dir
}

layer(TestDatabase.layer(serverUrl(), Database.layerAt))("migrations", (it) => {
  it.effect("the schema of migrations/ is applied and recorded", () =>
    Effect.gen(function* () {
      const sql = yield* SqlClient.SqlClient
      const applied = yield* sql<{ name: string }>`SELECT name FROM schema_migrations ORDER BY migration_id`
      assert.isAbove(applied.length, 0)
      assert.strictEqual(applied[0]!.name, "init")
    })
  )

  it.effect("applies new files in order, each once", () =>
    Effect.gen(function* () {
      const sql = yield* SqlClient.SqlClient
      const dir = folderWith({
        "9001_first.sql": "CREATE TABLE zz_order (step text); INSERT INTO zz_order VALUES ('first');",
        "9002_second.sql": "INSERT INTO zz_order VALUES ('second');",
        "README.txt": "not a migration"
      })
      const firstRun = yield* runMigrations(dir)
      assert.deepStrictEqual(
        firstRun.map(([id]) => id),
        [9001, 9002]
      )
      const secondRun = yield* runMigrations(dir)
      assert.deepStrictEqual(secondRun, [])
      const rows = yield* sql<{ step: string }>`SELECT step FROM zz_order`
      assert.deepStrictEqual(
        rows.map((row) => row.step),
        ["first", "second"]
      )
    })
  )

  it.effect("a failing file stops with its name and the database's message, and applies nothing", () =>
    Effect.gen(function* () {
      const sql = yield* SqlClient.SqlClient
      const dir = folderWith({
        "9101_good.sql": "CREATE TABLE zz_good (id int);",
        "9102_broken.sql": "CREATE TABLE zz_broken (id int"
      })
      const error = yield* Effect.flip(runMigrations(dir))
      assert.strictEqual(error._tag, "MigrationFailed")
      assert.include(error.message, "9102_broken.sql")
      assert.include(error.message, "syntax error")
      const tables = yield* sql<{ count: number }>`
        SELECT count(*)::int AS count FROM information_schema.tables WHERE table_name = 'zz_good'`
      assert.strictEqual(tables[0]!.count, 0)
    })
  )

  it.effect("roles: admins from before roles become owners, and a role outside the three is refused", () =>
    Effect.gen(function* () {
      const sql = yield* SqlClient.SqlClient
      const file = (name: string) => readFileSync(path.join(defaultMigrationsDir, name), "utf8")
      // The two migrations on a schema of their own, as on a database that had admins before roles.
      const owners = yield* sql.withTransaction(
        Effect.gen(function* () {
          yield* sql.unsafe("CREATE SCHEMA zz_roles")
          yield* sql.unsafe("SET LOCAL search_path TO zz_roles")
          for (const statement of splitStatements(file("0002_admins.sql"))) yield* sql.unsafe(statement)
          yield* sql`
            INSERT INTO admins (id, email, password_hash)
            VALUES ('6f1c7a38-6b1e-4c55-9a53-3f4d2b6f0a11', 'old@example.com', 'scrypt$...')`
          for (const statement of splitStatements(file("0140_roles_audit.sql"))) yield* sql.unsafe(statement)
          const rows = yield* sql<{ email: string; role: string }>`SELECT email, role FROM admins`
          // Nested: a savepoint, so the refusal does not abort the whole transaction.
          const refused = yield* Effect.flip(sql.withTransaction(sql`UPDATE admins SET role = 'admin'`))
          yield* sql.unsafe("DROP SCHEMA zz_roles CASCADE")
          return { rows, refused }
        })
      )
      assert.deepStrictEqual(owners.rows, [{ email: "old@example.com", role: "owner" }])
      assert.include(describeSqlError(owners.refused), "admins_role_check")
    }).pipe(Effect.orDie)
  )
})
