/**
 * What the tests that start real server processes share: the database and
 * the bot storage they set up on the test side, and the environment that
 * points a process at that database and at the wire-level fakes.
 */
import { randomBytes } from "node:crypto"
import { BotRepositoryPg, SecretBoxAes } from "@botfleet/adapters"
import { Database } from "@botfleet/adapters/postgres"
import { type FakeOpenAI, type FakeTelegram, serverUrl, TestDatabase } from "@botfleet/testing"
import { Effect, Layer, Redacted } from "effect"
import { freePort, startServerProcess, waitUntilReady } from "./serverProcess.ts"

/** One key per test file: the processes decrypt the tokens the test stored. */
export const newSecretsKey = () => randomBytes(32).toString("base64")

export const processStorage = (secretsKey: string) =>
  Layer.mergeAll(BotRepositoryPg.layer, SecretBoxAes.layer(Redacted.make(secretsKey))).pipe(
    Layer.provideMerge(TestDatabase.layer(serverUrl(), Database.layerAt)),
    Layer.orDie
  )

export const processEnv = (
  database: TestDatabase.TestDatabase["Service"],
  telegram: FakeTelegram.FakeTelegramServer,
  openai: FakeOpenAI.FakeOpenAI,
  secretsKey: string,
  extra: Record<string, string> = {}
): Record<string, string> => ({
  DATABASE_URL: Redacted.value(database.url),
  TELEGRAM_API_ROOT: telegram.apiRoot.toString(),
  OPENAI_BASE_URL: openai.baseUrl.toString(),
  OPENAI_API_KEY: "sk-test",
  SECRETS_KEY: secretsKey,
  LOG_LEVEL: "error",
  ...extra
})

/** A server child, stopped (SIGTERM, then SIGKILL after 10 s) when the scope closes, unless already gone. */
export const scopedServerProcess = (env: Record<string, string>) =>
  Effect.acquireRelease(
    Effect.promise(() => startServerProcess(env)),
    (server) =>
      Effect.promise(async () => {
        if (server.child.exitCode !== null || server.child.signalCode !== null) return
        server.child.kill("SIGTERM")
        const timer = setTimeout(() => server.child.kill("SIGKILL"), 10_000)
        await server.exited
        clearTimeout(timer)
      })
  )

/**
 * Two server processes on one database, both ready: webhooks are registered at
 * the first (its address is PUBLIC_URL), updates may be posted to either.
 */
export const serverPair = (env: Record<string, string>) =>
  Effect.gen(function* () {
    const portA = yield* Effect.promise(freePort)
    const shared = { ...env, PUBLIC_URL: `http://127.0.0.1:${portA}` }
    const [a, b] = yield* Effect.all(
      [scopedServerProcess({ ...shared, PORT: String(portA) }), scopedServerProcess(shared)],
      { concurrency: 2 }
    )
    yield* Effect.promise(() => Promise.all([waitUntilReady(a, 60_000), waitUntilReady(b, 60_000)]))
    return { a, b }
  })
