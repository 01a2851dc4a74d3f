import { mkdtempSync } from "node:fs"
import { tmpdir } from "node:os"
import path from "node:path"
import { Option, Redacted } from "effect"
import type { AppConfigShape } from "../../src/config/AppConfig.ts"

/** A configuration like the defaults, pointed at test servers. */
export const testConfig = (overrides: Partial<AppConfigShape>): AppConfigShape => ({
  port: 0,
  host: "127.0.0.1",
  databaseUrl: Option.none(),
  dataDir: mkdtempSync(path.join(tmpdir(), "botfleet-server-")),
  publicUrl: Option.none(),
  telegramApiRoot: new URL("http://127.0.0.1:9"),
  openaiApiKey: Option.some(Redacted.make("sk-test-key")),
  openaiBaseUrl: Option.none(),
  openaiModel: "gpt-4o-mini",
  openaiFallbackModel: Option.none(),
  openaiPrices: Option.none(),
  pipelineConcurrency: 64,
  queueMaxAgeSeconds: 300,
  // Alerts evaluated every 2 s, so alert tests wait seconds, not minutes.
  alertsEverySeconds: 2,
  shutdownGraceSeconds: 25,
  pipelineThread: false,
  otelTracesEndpoint: Option.none(),
  otelServiceName: "botfleet-test",
  adminEmail: Option.none(),
  adminPassword: Option.none(),
  adminRegistrationToken: Option.none(),
  secretsKey: Option.some(Redacted.make(Buffer.alloc(32, 3).toString("base64"))),
  corsOrigins: [],
  logLevel: "error",
  logFormat: "json",
  // API rate limits: out of the way of other tests; rateLimits.test.ts sets its own
  apiRateLimitPerMinute: 100_000,
  apiStatsRateLimitPerMinute: 100_000,
  openaiTranscribeModel: "gpt-4o-mini-transcribe",
  voiceMaxSeconds: 300,
  knowledgeMaxDocumentMb: 20,
  knowledgeVectorCacheMb: 256,
  inboxRetentionDays: 7,
  webappMaxAgeSeconds: 86_400,
  trustProxy: [],
  cookieSecure: "auto",
  sessionIdleMinutes: 120,
  webappOrigins: [],
  outboundPrivateNetworks: "allow",
  metricsToken: Option.none(),
  pipelineMaxChatsPerBot: Option.none(),
  ...overrides
})

let counter = 0
/** A token of the shape Telegram gives, unique per call. */
export const makeToken = (botNumber = 700_000_000 + ++counter) =>
  `${botNumber}:AA${Math.random().toString(36).slice(2).padEnd(12, "x")}${"b".repeat(22)}`
