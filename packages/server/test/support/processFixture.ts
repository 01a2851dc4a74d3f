/**
 * What the tests that start real server processes share: the database and
 * the bot storage they set up on the test side, and the environment that
 * points a process at that database and at the wire-level fakes.
 */
import { randomBytes } from "node:crypto"
import { BotRepositoryPg, SecretBoxAes } from "@botfleet/adapters"
import { Database } from "@botfleet/adapters/postgres"
import { type FakeOpenAI, type FakeTelegram, serverUrl, TestDatabase } from "@botfleet/testing"
import { Layer, Redacted } from "effect"

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
