import { assert, describe, it } from "@effect/vitest"
import { ConfigProvider, Effect, Option, Redacted } from "effect"
import { loadAppConfig } from "../src/config/AppConfig.ts"

const load = (env: Record<string, string>) =>
  loadAppConfig.pipe(Effect.provide(ConfigProvider.layer(ConfigProvider.fromEnv({ env }))))

describe("AppConfig", () => {
  it.effect("uses the documented defaults on an empty environment", () =>
    Effect.gen(function* () {
      const config = yield* load({})
      assert.strictEqual(config.port, 8080)
      assert.strictEqual(config.host, "0.0.0.0")
      assert.strictEqual(config.dataDir, "./.data")
      assert.isTrue(Option.isNone(config.databaseUrl))
      assert.isTrue(Option.isNone(config.publicUrl))
      assert.strictEqual(config.telegramApiRoot.toString(), "https://api.telegram.org/")
      assert.strictEqual(config.logLevel, "info")
      assert.strictEqual(config.logFormat, "json")
      assert.deepStrictEqual(config.corsOrigins, [])
      assert.strictEqual(config.shutdownGraceSeconds, 25)
      assert.isTrue(config.pipelineThread)
      assert.strictEqual(config.alertsEverySeconds, 15)
    })
  )

  it.effect("reads the shutdown grace, the pipeline thread switch and the alerts period", () =>
    Effect.gen(function* () {
      const config = yield* load({
        SHUTDOWN_GRACE_SECONDS: "40",
        PIPELINE_THREAD: "off",
        ALERTS_EVERY_SECONDS: "5"
      })
      assert.strictEqual(config.shutdownGraceSeconds, 40)
      assert.isFalse(config.pipelineThread)
      assert.strictEqual(config.alertsEverySeconds, 5)
    })
  )

  it.effect("reads every variable it is given", () =>
    Effect.gen(function* () {
      const config = yield* load({
        PORT: "9000",
        HOST: "127.0.0.1",
        DATABASE_URL: "postgres://u:p@db:5432/botfleet",
        PUBLIC_URL: "https://bots.example.com",
        OPENAI_MODEL: "gpt-4.1-mini",
        ADMIN_EMAIL: "Admin@Example.com",
        CORS_ORIGINS: "https://a.example, https://b.example,",
        LOG_LEVEL: "DEBUG",
        LOG_FORMAT: "pretty",
        SECRETS_KEY: Buffer.alloc(32, 7).toString("base64")
      })
      assert.strictEqual(config.port, 9000)
      assert.strictEqual(
        Redacted.value(Option.getOrThrow(config.databaseUrl)),
        "postgres://u:p@db:5432/botfleet"
      )
      assert.strictEqual(Option.getOrThrow(config.publicUrl).host, "bots.example.com")
      assert.strictEqual(config.openaiModel, "gpt-4.1-mini")
      assert.strictEqual(Option.getOrThrow(config.adminEmail), "admin@example.com")
      assert.deepStrictEqual(config.corsOrigins, ["https://a.example", "https://b.example"])
      assert.strictEqual(config.logLevel, "debug")
      assert.strictEqual(config.logFormat, "pretty")
    })
  )

  const rejects = (env: Record<string, string>, variable: string, expected: string) =>
    Effect.gen(function* () {
      const error = yield* Effect.flip(load(env))
      assert.strictEqual(error.variable, variable)
      assert.include(error.message, expected)
      return error
    })

  it.effect("names the variable and what it expected for a bad value", () =>
    Effect.gen(function* () {
      yield* rejects({ PORT: "abc" }, "PORT", 'expected a port number from 1 to 65535, got "abc"')
      yield* rejects({ PORT: "70000" }, "PORT", "from 1 to 65535")
      yield* rejects({ PUBLIC_URL: "bots.example.com" }, "PUBLIC_URL", "expected an http(s) URL")
      yield* rejects({ LOG_FORMAT: "xml" }, "LOG_FORMAT", "expected one of json, pretty")
      yield* rejects({ PIPELINE_THREAD: "yes" }, "PIPELINE_THREAD", "expected one of on, off")
      yield* rejects({ ADMIN_EMAIL: "nobody" }, "ADMIN_EMAIL", "expected an email address")
    })
  )

  it.effect("never echoes a secret it rejects", () =>
    Effect.gen(function* () {
      const url = yield* rejects({ DATABASE_URL: "mysql://root:hunter2@db/x" }, "DATABASE_URL", "postgres://")
      assert.notInclude(url.message, "hunter2")
      const key = yield* rejects({ SECRETS_KEY: "short-secret" }, "SECRETS_KEY", "32 random bytes")
      assert.notInclude(key.message, "short-secret")
    })
  )

  it.effect("keeps secrets redacted", () =>
    Effect.gen(function* () {
      const config = yield* load({ OPENAI_API_KEY: "sk-live-123", ADMIN_PASSWORD: "pw-123456" })
      assert.notInclude(JSON.stringify(config), "sk-live-123")
      assert.notInclude(String(Option.getOrThrow(config.adminPassword)), "pw-123456")
      assert.strictEqual(Redacted.value(Option.getOrThrow(config.openaiApiKey)), "sk-live-123")
    })
  )
})
