/**
 * One PostgreSQL server for the whole test run: `TEST_DATABASE_URL` when set,
 * else an embedded server in a temporary folder. The migrated template
 * database is made here once; each test file copies it.
 */
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import path from "node:path"
import { Database, startEmbeddedPostgres } from "@botfleet/adapters/postgres"
import { TestDatabase } from "@botfleet/testing"
import { Effect, Exit, Redacted, References, Scope } from "effect"
import type { TestProject } from "vitest/node"

export default async function setup(project: TestProject) {
  const scope = Effect.runSync(Scope.make())
  const dataDir = mkdtempSync(path.join(tmpdir(), "botfleet-test-"))
  const given = process.env.TEST_DATABASE_URL
  const serverUrl =
    given ??
    (await Effect.runPromise(
      startEmbeddedPostgres({ dataDir, ephemeral: true }).pipe(
        Effect.map((server) => Redacted.value(server.url)),
        Scope.provide(scope),
        // The test report stays readable; a failure to start still shows as an error.
        Effect.provideService(References.MinimumLogLevel, "Warn")
      )
    ))
  await Effect.runPromise(TestDatabase.createTemplate(serverUrl, Database.layerAt))
  project.provide("postgresServerUrl", serverUrl)
  return async () => {
    await Effect.runPromise(Scope.close(scope, Exit.void))
    rmSync(dataDir, { recursive: true, force: true })
  }
}
