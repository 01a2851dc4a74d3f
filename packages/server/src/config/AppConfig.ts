/**
 * Every environment variable of the contract (DESIGN.md), read once at start.
 * A missing or malformed value stops start-up with one line naming it; values
 * of secrets are never echoed.
 */

import { isIP } from "node:net"
import { Prices } from "@botfleet/adapters"
import { Config, Context, Effect, Layer, Option, Redacted, Result, Schema } from "effect"

export type LogLevelName = "trace" | "debug" | "info" | "warn" | "error" | "fatal"

export interface AppConfigShape {
  readonly port: number
  readonly host: string
  readonly databaseUrl: Option.Option<Redacted.Redacted<string>>
  readonly dataDir: string
  readonly publicUrl: Option.Option<URL>
  readonly telegramApiRoot: URL
  readonly openaiApiKey: Option.Option<Redacted.Redacted<string>>
  readonly openaiBaseUrl: Option.Option<URL>
  readonly openaiModel: string
  readonly openaiFallbackModel: Option.Option<string>
  /** Overrides of the built-in price table: `model=input/output,…` in USD per million tokens. */
  readonly openaiPrices: Option.Option<string>
  /** How many chats one process works on at once. */
  readonly pipelineConcurrency: number
  /** /health/queue is 503 when the oldest pending update is older than this. */
  readonly queueMaxAgeSeconds: number
  /** How often the alert conditions (bot stopped, backlog, failures, budget) are evaluated. */
  readonly alertsEverySeconds: number
  /** After SIGTERM: how long requests and replies in flight get to finish. */
  readonly shutdownGraceSeconds: number
  /** `npm start` runs the pipeline on a thread of its own, so acknowledgements never wait for it. */
  readonly pipelineThread: boolean
  /** OTLP/HTTP endpoint for traces (OTEL_EXPORTER_OTLP_TRACES_ENDPOINT or OTEL_EXPORTER_OTLP_ENDPOINT); none: off. */
  readonly otelTracesEndpoint: Option.Option<URL>
  readonly otelServiceName: string
  readonly adminEmail: Option.Option<string>
  readonly adminPassword: Option.Option<Redacted.Redacted<string>>
  readonly adminRegistrationToken: Option.Option<Redacted.Redacted<string>>
  readonly secretsKey: Option.Option<Redacted.Redacted<string>>
  readonly corsOrigins: ReadonlyArray<string>
  readonly logLevel: LogLevelName
  readonly logFormat: "json" | "pretty"
  // API rate limits
  /** Admin API requests per minute per session (API_RATE_LIMIT_PER_MINUTE). */
  readonly apiRateLimitPerMinute: number
  /** GET /api/stats per minute per admin (API_STATS_RATE_LIMIT_PER_MINUTE). */
  readonly apiStatsRateLimitPerMinute: number
  // conversations: speech to text
  readonly openaiTranscribeModel: string
  readonly voiceMaxSeconds: number
  /** The largest document a knowledge base accepts, in MB (KNOWLEDGE_MAX_DOCUMENT_MB). */
  readonly knowledgeMaxDocumentMb: number
  /** Knowledge vectors held in process, in MB (KNOWLEDGE_VECTOR_CACHE_MB); 0: the SQL scan only. */
  readonly knowledgeVectorCacheMb: number
  // Scheduler and retention
  /** Done inbox updates older than this many days are deleted. */
  readonly inboxRetentionDays: number
  /** Mini App initData older than this is refused. */
  readonly webappMaxAgeSeconds: number
  // Hardening
  /** Proxies (addresses or CIDRs) whose X-Forwarded-For / X-Forwarded-Proto are believed. */
  readonly trustProxy: ReadonlyArray<string>
  /** `auto`: Secure when PUBLIC_URL is https or a trusted proxy says the request came over https. */
  readonly cookieSecure: "auto" | "true" | "false"
  /** A session unused this long is signed out (besides its 7-day limit). */
  readonly sessionIdleMinutes: number
  /** Origins allowed to call /api/webapp/* (CORS without credentials). */
  readonly webappOrigins: ReadonlyArray<string>
  /** Whether admin- or model-supplied URLs may reach loopback and private addresses. */
  readonly outboundPrivateNetworks: "allow" | "deny"
  /** Bearer token /metrics requires when set. */
  readonly metricsToken: Option.Option<Redacted.Redacted<string>>
  // Fairness
  /** Most chats of one bot in flight per process; none: a fair share of PIPELINE_CONCURRENCY. */
  readonly pipelineMaxChatsPerBot: Option.Option<number>
}

export class AppConfig extends Context.Service<AppConfig, AppConfigShape>()("@botfleet/server/AppConfig") {}

export class InvalidConfig extends Schema.TaggedError<InvalidConfig>()("InvalidConfig", {
  variable: Schema.String,
  message: Schema.String
}) {}

/** A parsed value, or what was expected instead. */
type Parsed<A> = Result.Result<A, string>
const ok = Result.succeed
const invalid = Result.fail

/**
 * Reads one variable through Effect `Config` (so tests can swap the provider)
 * and checks it with `parse`, which says what was expected when it is wrong.
 * An empty value counts as unset.
 */
const variable = <A>(name: string, parse: (raw: string) => Parsed<A>) =>
  Effect.gen(function* () {
    const raw = yield* Config.String(name).pipe(Config.option)
    const trimmed = Option.map(raw, (value) => value.trim()).pipe(Option.filter((value) => value !== ""))
    if (Option.isNone(trimmed)) return Option.none<A>()
    const parsed = parse(trimmed.value)
    if (Result.isFailure(parsed)) return yield* new InvalidConfig({ variable: name, message: parsed.failure })
    return Option.some(parsed.success)
  })

const text = (raw: string): Parsed<string> => ok(raw)
const secret = (raw: string): Parsed<Redacted.Redacted<string>> => ok(Redacted.make(raw))

const port = (raw: string): Parsed<number> => {
  const value = Number(raw)
  return /^\d+$/.test(raw) && value >= 1 && value <= 65535
    ? ok(value)
    : invalid(`expected a port number from 1 to 65535, got "${raw}"`)
}

const httpUrl = (raw: string): Parsed<URL> => {
  try {
    const url = new URL(raw)
    if (url.protocol === "http:" || url.protocol === "https:") return ok(url)
  } catch {
    // falls through to the message below
  }
  return invalid(`expected an http(s) URL, got "${raw}"`)
}

// The value is not echoed: a database URL carries a password.
const databaseUrl = (raw: string): Parsed<Redacted.Redacted<string>> => {
  try {
    const url = new URL(raw)
    if ((url.protocol === "postgres:" || url.protocol === "postgresql:") && url.hostname)
      return ok(Redacted.make(raw))
  } catch {
    // falls through to the message below
  }
  return invalid("expected a URL like postgres://user:password@host:5432/database")
}

const secretsKey = (raw: string): Parsed<Redacted.Redacted<string>> =>
  Buffer.from(raw, "base64").length === 32
    ? ok(Redacted.make(raw))
    : invalid("expected 32 random bytes in base64 (e.g. `openssl rand -base64 32`)")

const email = (raw: string): Parsed<string> =>
  /^[^@\s]+@[^@\s]+$/.test(raw) ? ok(raw.toLowerCase()) : invalid(`expected an email address, got "${raw}"`)

const prices = (raw: string): Parsed<string> =>
  Result.match(Prices.pricesWithOverrides(raw), {
    onSuccess: () => ok(raw),
    onFailure: (error) => invalid(error.message)
  })

const positiveInt =
  (max: number) =>
  (raw: string): Parsed<number> => {
    const value = Number(raw)
    return /^\d+$/.test(raw) && value >= 1 && value <= max
      ? ok(value)
      : invalid(`expected a whole number from 1 to ${max}, got "${raw}"`)
  }

const wholeNumber =
  (max: number) =>
  (raw: string): Parsed<number> => {
    const value = Number(raw)
    return /^\d+$/.test(raw) && value <= max
      ? ok(value)
      : invalid(`expected a whole number from 0 to ${max}, got "${raw}"`)
  }

const oneOf =
  <const A extends string>(values: ReadonlyArray<A>) =>
  (raw: string): Parsed<A> => {
    const lower = raw.toLowerCase()
    return (values as ReadonlyArray<string>).includes(lower)
      ? ok(lower as A)
      : invalid(`expected one of ${values.join(", ")}, got "${raw}"`)
  }

/** A registration token is a full-admin credential guessed online: too short a one stops start-up. */
export const MIN_REGISTRATION_TOKEN_LENGTH = 32

const registrationToken = (raw: string): Parsed<Redacted.Redacted<string>> =>
  raw.length >= MIN_REGISTRATION_TOKEN_LENGTH
    ? ok(Redacted.make(raw))
    : invalid(
        `must be at least ${MIN_REGISTRATION_TOKEN_LENGTH} characters (e.g. \`openssl rand -base64 32\`)`
      )

const commaList = (raw: string): Parsed<ReadonlyArray<string>> =>
  ok(
    raw
      .split(",")
      .map((item) => item.trim())
      .filter((item) => item !== "")
  )

/** Addresses or CIDRs (IPv4 or IPv6), e.g. `127.0.0.1,10.0.0.0/8,::1`. */
const addressList = (raw: string): Parsed<ReadonlyArray<string>> => {
  const items = (commaList(raw) as Result.Success<ReadonlyArray<string>, string>).success
  const wrong = items.find((item) => {
    const [address, bits, ...rest] = item.split("/")
    const family = isIP(address ?? "")
    if (family === 0 || rest.length > 0) return true
    if (bits === undefined) return false
    const n = Number(bits)
    return !/^\d+$/.test(bits) || n > (family === 4 ? 32 : 128)
  })
  return wrong === undefined ? ok(items) : invalid(`expected addresses or CIDRs, got "${wrong}"`)
}

const origins = (raw: string): Parsed<ReadonlyArray<string>> => {
  const items = (commaList(raw) as Result.Success<ReadonlyArray<string>, string>).success
  const wrong = items.find((item) => Result.isFailure(httpUrl(item)) || new URL(item).origin !== item)
  return wrong === undefined
    ? ok(items)
    : invalid(`expected origins like https://example.com, got "${wrong}"`)
}

const withDefault = <A, E, R>(config: Effect.Effect<Option.Option<A>, E, R>, fallback: A) =>
  Effect.map(
    config,
    Option.getOrElse(() => fallback)
  )

const readAll = Effect.all({
  port: withDefault(variable("PORT", port), 8080),
  host: withDefault(variable("HOST", text), "0.0.0.0"),
  databaseUrl: variable("DATABASE_URL", databaseUrl),
  dataDir: withDefault(variable("DATA_DIR", text), "./.data"),
  publicUrl: variable("PUBLIC_URL", httpUrl),
  telegramApiRoot: withDefault(variable("TELEGRAM_API_ROOT", httpUrl), new URL("https://api.telegram.org")),
  openaiApiKey: variable("OPENAI_API_KEY", secret),
  openaiBaseUrl: variable("OPENAI_BASE_URL", httpUrl),
  openaiModel: withDefault(variable("OPENAI_MODEL", text), "gpt-4o-mini"),
  openaiFallbackModel: variable("OPENAI_FALLBACK_MODEL", text),
  openaiPrices: variable("OPENAI_PRICES", prices),
  pipelineConcurrency: withDefault(variable("PIPELINE_CONCURRENCY", positiveInt(10_000)), 256),
  queueMaxAgeSeconds: withDefault(variable("QUEUE_MAX_AGE_SECONDS", positiveInt(86_400)), 300),
  alertsEverySeconds: withDefault(variable("ALERTS_EVERY_SECONDS", positiveInt(3_600)), 15),
  shutdownGraceSeconds: withDefault(variable("SHUTDOWN_GRACE_SECONDS", positiveInt(3_600)), 25),
  pipelineThread: Effect.map(
    withDefault(variable("PIPELINE_THREAD", oneOf(["on", "off"])), "on"),
    (value) => value === "on"
  ),
  otelTracesEndpoint: Effect.map(
    Effect.all([
      variable("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", httpUrl),
      variable("OTEL_EXPORTER_OTLP_ENDPOINT", httpUrl)
    ]),
    // The general endpoint is a base: traces go to <base>/v1/traces, as the OpenTelemetry spec says.
    ([traces, base]) =>
      Option.orElse(traces, () =>
        Option.map(base, (url) => new URL("v1/traces", url.href.endsWith("/") ? url : `${url.href}/`))
      )
  ),
  otelServiceName: withDefault(variable("OTEL_SERVICE_NAME", text), "botfleet"),
  adminEmail: variable("ADMIN_EMAIL", email),
  adminPassword: variable("ADMIN_PASSWORD", secret),
  adminRegistrationToken: variable("ADMIN_REGISTRATION_TOKEN", registrationToken),
  secretsKey: variable("SECRETS_KEY", secretsKey),
  corsOrigins: withDefault(variable("CORS_ORIGINS", commaList), []),
  logLevel: withDefault(
    variable("LOG_LEVEL", oneOf(["trace", "debug", "info", "warn", "error", "fatal"])),
    "info"
  ),
  logFormat: withDefault(variable("LOG_FORMAT", oneOf(["json", "pretty"])), "json"),
  // API rate limits
  apiRateLimitPerMinute: withDefault(variable("API_RATE_LIMIT_PER_MINUTE", positiveInt(1_000_000)), 300),
  apiStatsRateLimitPerMinute: withDefault(
    variable("API_STATS_RATE_LIMIT_PER_MINUTE", positiveInt(1_000_000)),
    10
  ),
  // conversations
  openaiTranscribeModel: withDefault(variable("OPENAI_TRANSCRIBE_MODEL", text), "gpt-4o-mini-transcribe"),
  voiceMaxSeconds: withDefault(variable("VOICE_MAX_SECONDS", positiveInt(86_400)), 300),
  knowledgeMaxDocumentMb: withDefault(variable("KNOWLEDGE_MAX_DOCUMENT_MB", positiveInt(1024)), 20),
  knowledgeVectorCacheMb: withDefault(variable("KNOWLEDGE_VECTOR_CACHE_MB", wholeNumber(65_536)), 256),
  // Scheduler and retention
  inboxRetentionDays: withDefault(variable("INBOX_RETENTION_DAYS", positiveInt(3650)), 7),
  webappMaxAgeSeconds: withDefault(variable("WEBAPP_MAX_AGE_SECONDS", positiveInt(31_536_000)), 86_400),
  // Hardening
  trustProxy: withDefault(variable("TRUST_PROXY", addressList), []),
  cookieSecure: withDefault(variable("COOKIE_SECURE", oneOf(["auto", "true", "false"])), "auto"),
  sessionIdleMinutes: withDefault(variable("SESSION_IDLE_MINUTES", positiveInt(10_080)), 120),
  webappOrigins: withDefault(variable("WEBAPP_ORIGINS", origins), []),
  outboundPrivateNetworks: withDefault(
    variable("OUTBOUND_PRIVATE_NETWORKS", oneOf(["allow", "deny"])),
    "allow"
  ),
  metricsToken: variable("METRICS_TOKEN", secret),
  // Fairness
  pipelineMaxChatsPerBot: variable("PIPELINE_MAX_CHATS_PER_BOT", positiveInt(10_000))
})

/** Reads the environment; any problem becomes one `InvalidConfig`. */
export const loadAppConfig: Effect.Effect<AppConfigShape, InvalidConfig> = readAll.pipe(
  Effect.catchTag("ConfigError", (error) =>
    Effect.fail(new InvalidConfig({ variable: "environment", message: error.message }))
  )
)

export const layer = (config: AppConfigShape) => Layer.succeed(AppConfig, config)
