/**
 * The whole process as one layer, built from the configuration: database,
 * adapters, use cases, background work (dispatcher, effect runner, poller)
 * and the HTTP server. `main.ts` launches it; tests build it with their own
 * configuration. Layers built later are stopped first: HTTP drains, then the
 * workers stop, then the database closes.
 */
import { createServer } from "node:http"
import {
  AdminRepositoryPg,
  AlertStorePg,
  AlertWebhookFetch,
  FailureLogPg,
  JobRunsPg,
  LanguageModelOpenAI,
  MaintenancePg,
  PasswordHasherArgon2,
  Prices,
  ProviderProbeHttp,
  RepositoriesPg,
  SecretBoxAes,
  StatsRepositoryPg,
  TelegramGatewayTelegraf,
  TranscriberOpenAI,
  UpdateInboxPg
} from "@botfleet/adapters"
import { Database } from "@botfleet/adapters/postgres"
import {
  AlertService,
  AuthService,
  BotService,
  BotUsers,
  ChatWorker,
  ConversationService,
  EffectRunner,
  FailureService,
  instrumentLanguageModel,
  PipelineLayer,
  ProviderService,
  Settings,
  StatsService,
  WebAppService
} from "@botfleet/application"
import { NodeHttpServer } from "@effect/platform-node"
import { ByteSize, Effect, Layer, Option, Result } from "effect"
import { HttpIncomingMessage, HttpMiddleware, HttpRouter } from "effect/http"
import { ApiRoutes } from "./api/ApiRoutes.ts"
import * as RateLimiterSql from "./api/RateLimiterSql.ts"
import type { AppConfigShape } from "./config/AppConfig.ts"
import * as AppConfig from "./config/AppConfig.ts"
import { apiRateLimit } from "./http/apiRateLimit.ts"
import { ConsoleRoutes } from "./http/ConsoleRoutes.ts"
import { HealthRoutes } from "./http/HealthRoutes.ts"
import { originCheck } from "./http/originCheck.ts"
import { requestLog } from "./http/requestLog.ts"
import * as Poller from "./ingress/Poller.ts"
import { WebhookRoutes } from "./ingress/WebhookRoutes.ts"
import { MetricsRoutes } from "./observability/MetricsRoutes.ts"
import * as Tracing from "./observability/Tracing.ts"
import { Dispatcher, defaultDispatcherOptions } from "./processing/Dispatcher.ts"
import { EffectRunnerLoop } from "./processing/EffectRunnerLoop.ts"
import { SchedulerLoop, schedulerLayer } from "./processing/SchedulerLoop.ts"

export const databaseLayer = (config: AppConfigShape) =>
  Database.layer({ url: config.databaseUrl, dataDir: config.dataDir, maxConnections: 20 })

/** SECRETS_KEY, or a key generated once and kept under DATA_DIR. */
const secretBoxLayer = (config: AppConfigShape) =>
  Layer.unwrap(
    Effect.map(
      Option.match(config.secretsKey, {
        onSome: (key) => Effect.succeed(key),
        onNone: () => SecretBoxAes.keyFromDataDir(config.dataDir)
      }),
      SecretBoxAes.layer
    )
  )

/** Every port on its real adapter; needs only the database. */
export const adaptersLayer = (config: AppConfigShape) =>
  Layer.mergeAll(
    RepositoriesPg.layer,
    UpdateInboxPg.layer,
    StatsRepositoryPg.layer,
    AdminRepositoryPg.layer,
    AdminRepositoryPg.sessionsLayer,
    PasswordHasherArgon2.layer,
    TelegramGatewayTelegraf.layer({ apiRoot: config.telegramApiRoot }),
    instrumentLanguageModel(
      LanguageModelOpenAI.layer({
        apiKey: Option.getOrUndefined(config.openaiApiKey),
        baseUrl: Option.getOrUndefined(config.openaiBaseUrl),
        fallbackModel: Option.getOrUndefined(config.openaiFallbackModel),
        // Validated when the configuration was read.
        prices: Result.getOrElse(
          Prices.pricesWithOverrides(Option.getOrUndefined(config.openaiPrices)),
          () => Prices.defaultPrices
        )
      })
    ),
    secretBoxLayer(config),
    // providers (issue 12): GET /models before a provider is stored
    ProviderProbeHttp.layer(),
    // conversations (issue 11): voice, audio and video notes
    TranscriberOpenAI.layer({
      apiKey: Option.getOrUndefined(config.openaiApiKey),
      baseUrl: Option.getOrUndefined(config.openaiBaseUrl),
      model: config.openaiTranscribeModel,
      maxSeconds: config.voiceMaxSeconds
    }),
    // Scheduler (issue 13)
    JobRunsPg.layer,
    MaintenancePg.layer,
    // Failures of every kind (issue 13)
    FailureLogPg.layer,
    // Alerts (issue 13)
    AlertStorePg.layer,
    AlertWebhookFetch.layer,
    Layer.succeed(
      Settings,
      Settings.of({
        publicUrl: config.publicUrl,
        defaultModel: config.openaiModel,
        registrationToken: config.adminRegistrationToken
      })
    )
  )

/** Use cases on top of the ports. */
export const applicationLayer = Layer.mergeAll(
  BotService.layer,
  // Alerts (issue 13): the runner delivers them, so it gets the service.
  EffectRunner.layer.pipe(Layer.provideMerge(AlertService.layer)),
  ChatWorker.layer,
  ConversationService.layer,
  StatsService.layer,
  AuthService.layer,
  // access and limits (issue 12)
  BotUsers.layer,
  // providers (issue 12)
  ProviderService.layer,
  // Failures of every kind (issue 13)
  FailureService.layer.pipe(Layer.provide(ConversationService.layer))
).pipe(Layer.provideMerge(PipelineLayer))

/** The first admin, from ADMIN_EMAIL and ADMIN_PASSWORD, if both are set and the account is missing. */
const firstAdminLayer = (config: AppConfigShape) =>
  Layer.effectDiscard(
    Option.match(Option.all([config.adminEmail, config.adminPassword]), {
      onNone: () => Effect.void,
      onSome: ([email, password]) => Effect.flatMap(AuthService, (auth) => auth.ensureAdmin(email, password))
    })
  )

/** Mini App sign-in (issue 13): needs the configured initData age limit. */
export const webAppLayer = (config: AppConfigShape) =>
  WebAppService.layer({ maxAgeSeconds: config.webappMaxAgeSeconds })

/** Background work: the dispatcher and the scheduler always; long polling only without a public URL. */
export const processingLayer = (config: AppConfigShape) => {
  const dispatcher = Dispatcher.layerWith({
    ...defaultDispatcherOptions,
    concurrency: config.pipelineConcurrency
  })
  const workers = Option.isSome(config.publicUrl)
    ? EffectRunnerLoop
    : Layer.mergeAll(EffectRunnerLoop, Poller.layerWith(Poller.defaultPollerOptions))
  // Scheduler (issue 13)
  const scheduler = SchedulerLoop.pipe(
    Layer.provideMerge(
      schedulerLayer({
        inboxRetentionDays: config.inboxRetentionDays,
        queueMaxAgeSeconds: config.queueMaxAgeSeconds
      })
    )
  )
  return Layer.merge(workers, scheduler).pipe(Layer.provideMerge(dispatcher))
}

/** JSON bodies over this are refused with 413 (the webhook checks the same limit itself). */
export const BODY_LIMIT_BYTES = 1024 * 1024

/**
 * A request (headers and body) must arrive within this, or Node answers 408
 * and closes the connection: a client that stalls mid-body cannot hold a
 * connection for Node's default 300 s.
 */
export const BODY_TIMEOUT_MS = 30_000

export interface HttpOptions {
  /** Tests shorten it; see BODY_TIMEOUT_MS. */
  readonly bodyTimeoutMs?: number | undefined
}

const nodeServer = (bodyTimeoutMs: number) => () =>
  createServer({
    requestTimeout: bodyTimeoutMs,
    headersTimeout: bodyTimeoutMs,
    // Node checks the timeouts this often (default 30 s, which would double the bound).
    connectionsCheckingInterval: Math.min(1_000, bodyTimeoutMs)
  })

export const httpLayer = (config: AppConfigShape, options: HttpOptions = {}) =>
  HttpRouter.serve(
    Layer.mergeAll(
      HealthRoutes,
      WebhookRoutes,
      MetricsRoutes,
      ApiRoutes,
      ConsoleRoutes,
      requestLog,
      originCheck(config),
      // API rate limits (issue 12)
      apiRateLimit({
        perSession: config.apiRateLimitPerMinute,
        statsPerAdmin: config.apiStatsRateLimitPerMinute
      }).pipe(Layer.provide(RateLimiterSql.layer)),
      // Browsers on these origins may call the API with the session cookie; without any, no CORS headers at all.
      config.corsOrigins.length > 0
        ? HttpRouter.middleware(
            HttpMiddleware.cors({
              // A predicate, so a single configured origin is still matched per request, not echoed to all.
              allowedOrigins: (origin) => config.corsOrigins.includes(origin),
              credentials: true,
              maxAge: 600
            }),
            { global: true }
          )
        : Layer.empty
    ),
    { disableLogger: true }
  ).pipe(
    Layer.provide(Layer.succeed(HttpIncomingMessage.MaxBodySize, ByteSize.bytes(BODY_LIMIT_BYTES))),
    Layer.provide(
      NodeHttpServer.layer(nodeServer(options.bodyTimeoutMs ?? BODY_TIMEOUT_MS), {
        port: config.port,
        host: config.host,
        // In-flight requests get this long to finish after SIGTERM.
        gracefulShutdownTimeout: "25 seconds"
      })
    )
  )

export const serverLayer = (config: AppConfigShape, options: HttpOptions = {}) =>
  httpLayer(config, options).pipe(
    Layer.provideMerge(Layer.mergeAll(processingLayer(config), firstAdminLayer(config), webAppLayer(config))),
    Layer.provideMerge(applicationLayer),
    Layer.provideMerge(adaptersLayer(config)),
    Layer.provideMerge(databaseLayer(config)),
    Layer.provide(AppConfig.layer(config)),
    Layer.provide(Tracing.layer(config))
  )
