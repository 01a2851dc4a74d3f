import { assert, describe, it } from "@effect/vitest"
import { splitStatements } from "../../src/postgres/splitStatements.ts"

describe("splitStatements", () => {
  it("splits at top-level semicolons and drops empty pieces", () => {
    assert.deepStrictEqual(splitStatements("CREATE TABLE a (id int);\n\nCREATE TABLE b (id int);\n"), [
      "CREATE TABLE a (id int)",
      "CREATE TABLE b (id int)"
    ])
  })

  it("keeps semicolons inside strings, identifiers, comments and dollar quotes", () => {
    const script = [
      "INSERT INTO t VALUES ('a;b');",
      'CREATE TABLE "we;ird" (id int);',
      "-- a comment; with a semicolon",
      "/* block; comment */ SELECT 1;",
      "CREATE FUNCTION f() RETURNS int AS $body$ SELECT 1; $body$ LANGUAGE sql;",
      "DO $$ BEGIN PERFORM 1; END $$;"
    ].join("\n")
    const statements = splitStatements(script)
    assert.strictEqual(statements.length, 5)
    assert.strictEqual(statements[0], "INSERT INTO t VALUES ('a;b')")
    assert.strictEqual(statements[1], 'CREATE TABLE "we;ird" (id int)')
    assert.include(statements[2], "SELECT 1")
    assert.include(statements[3], "$body$ SELECT 1; $body$")
    assert.strictEqual(statements[4], "DO $$ BEGIN PERFORM 1; END $$")
  })
})
