/**
 * The layers both threads build: database, adapters, use cases and the
 * background work. The HTTP side (routes, server) is in Server.ts, so the
 * pipeline thread (pipelineWorker.ts) loads none of it.
 */
import {
  AdminRepositoryPg,
  AlertStorePg,
  AlertWebhookFetch,
  AuditLogPg,
  DocumentReaderFiles,
  EmbeddingsOpenAI,
  FailureLogPg,
  ImageGeneratorOpenAI,
  InvitationRepositoryPg,
  JobRunsPg,
  KnowledgeRepositoryPg,
  LanguageModelOpenAI,
  MaintenancePg,
  McpConnectorHttp,
  McpServerRepositoryPg,
  OutboundClient,
  OutboundHttpNode,
  PageTextReadability,
  PasswordHasherArgon2,
  Prices,
  ProviderProbeHttp,
  RepositoriesPg,
  SecretBoxAes,
  SetupTokensPg,
  SpeechSynthesizerOpenAI,
  StatsRepositoryPg,
  TelegramGatewayHttp,
  ThreadSummariesPg,
  TokenCounterTiktoken,
  ToolCallRepositoryPg,
  TranscriberOpenAI,
  UpdateInboxPg,
  UserNotesPg
} from "@botfleet/adapters"
import { Database } from "@botfleet/adapters/postgres"
import {
  AdminService,
  AlertService,
  AuthService,
  BotService,
  BotUsers,
  ChatWorker,
  ConversationService,
  EffectRunner,
  FailureService,
  FirstRunSetup,
  instrumentLanguageModel,
  KnowledgeService,
  KnowledgeSettings,
  McpServerService,
  PipelineLayer,
  ProviderService,
  Settings,
  StatsService,
  UserNotesAdmin
} from "@botfleet/application"
import { Effect, Layer, Option, Result } from "effect"
import type { AppConfigShape } from "./config/AppConfig.ts"
import * as AppConfig from "./config/AppConfig.ts"
import * as Poller from "./ingress/Poller.ts"
import * as Tracing from "./observability/Tracing.ts"
import { Dispatcher, defaultDispatcherOptions } from "./processing/Dispatcher.ts"
import { EffectRunnerLoop } from "./processing/EffectRunnerLoop.ts"
import { McpToolWatchLoop } from "./processing/McpToolWatchLoop.ts"
import { schedulerLayer, schedulerLoop } from "./processing/SchedulerLoop.ts"

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

/** The price table: the built-in one with OPENAI_PRICES (validated when the configuration was read). */
const pricesOf = (config: AppConfigShape) =>
  Result.getOrElse(
    Prices.pricesWithOverrides(Option.getOrUndefined(config.openaiPrices)),
    () => Prices.defaultPrices
  )

/** Every port on its real adapter; needs only the database. */
export const adaptersLayer = (config: AppConfigShape) => {
  // One guard for every URL an admin supplies (providers, alert webhooks, MCP servers).
  const outbound = OutboundClient.make({ privateNetworks: config.outboundPrivateNetworks })
  return Layer.mergeAll(
    RepositoriesPg.layer,
    UpdateInboxPg.layer,
    StatsRepositoryPg.layer,
    AdminRepositoryPg.layer,
    AdminRepositoryPg.sessionsLayer,
    SetupTokensPg.layer,
    PasswordHasherArgon2.layer,
    TelegramGatewayHttp.layer({ apiRoot: config.telegramApiRoot }),
    instrumentLanguageModel(
      LanguageModelOpenAI.layer({
        apiKey: Option.getOrUndefined(config.openaiApiKey),
        baseUrl: Option.getOrUndefined(config.openaiBaseUrl),
        fallbackModel: Option.getOrUndefined(config.openaiFallbackModel),
        prices: pricesOf(config),
        outbound
      })
    ),
    secretBoxLayer(config),
    // providers: GET /models before a provider is stored
    ProviderProbeHttp.layer({ outbound }),
    // conversations: voice, audio and video notes
    TranscriberOpenAI.layer({
      apiKey: Option.getOrUndefined(config.openaiApiKey),
      baseUrl: Option.getOrUndefined(config.openaiBaseUrl),
      model: config.openaiTranscribeModel,
      maxSeconds: config.voiceMaxSeconds
    }),
    // Voice answers: the bot's provider through the guard, OPENAI_* directly
    SpeechSynthesizerOpenAI.layer({
      apiKey: Option.getOrUndefined(config.openaiApiKey),
      baseUrl: Option.getOrUndefined(Option.map(config.openaiBaseUrl, String))
    }).pipe(Layer.provide(OutboundHttpNode.layer(outbound))),
    // Scheduler
    JobRunsPg.layer,
    MaintenancePg.layer,
    // Failures of every kind
    FailureLogPg.layer,
    // Alerts
    AlertStorePg.layer,
    AlertWebhookFetch.layer(outbound),
    OutboundHttpNode.layer(outbound),
    // MCP servers: stored, and asked for their tools through the same guard
    McpServerRepositoryPg.layer,
    // The notes bots keep about their users (remember / forget, /memory)
    UserNotesPg.layer,
    // generate_image: the bot's provider (or the env default) through the same guard
    ImageGeneratorOpenAI.layer({
      apiKey: Option.getOrUndefined(config.openaiApiKey),
      baseUrl: Option.getOrUndefined(Option.map(config.openaiBaseUrl, String))
    }).pipe(Layer.provide(OutboundHttpNode.layer(outbound))),
    McpConnectorHttp.layer.pipe(Layer.provide(OutboundHttpNode.layer(outbound))),
    // Context by tokens: the thread summaries and the tokenizer
    ThreadSummariesPg.layer,
    TokenCounterTiktoken.layer,
    // Tool calls of replies, and fetch_url's readable text
    ToolCallRepositoryPg.layer,
    PageTextReadability.layer,
    // Knowledge bases: storage, file readers, embeddings (a provider's server through the guard)
    KnowledgeRepositoryPg.layerWith({ vectorCacheBytes: config.knowledgeVectorCacheMb * 1024 * 1024 }),
    DocumentReaderFiles.layer,
    EmbeddingsOpenAI.layer({
      apiKey: Option.getOrUndefined(config.openaiApiKey),
      baseUrl: Option.getOrUndefined(Option.map(config.openaiBaseUrl, String)),
      prices: pricesOf(config)
    }).pipe(Layer.provide(OutboundHttpNode.layer(outbound))),
    Layer.succeed(
      KnowledgeSettings,
      KnowledgeSettings.of({ maxDocumentBytes: config.knowledgeMaxDocumentMb * 1024 * 1024 })
    ),
    // Roles and the audit log
    InvitationRepositoryPg.layer,
    AuditLogPg.layer,
    Layer.succeed(
      Settings,
      Settings.of({
        publicUrl: config.publicUrl,
        defaultModel: config.openaiModel,
        registrationToken: config.adminRegistrationToken,
        sessionIdleMinutes: config.sessionIdleMinutes
      })
    )
  )
}

/** Use cases on top of the ports. */
export const applicationLayer = Layer.mergeAll(
  BotService.layer,
  // Alerts: the runner delivers them, so it gets the service.
  EffectRunner.layer.pipe(Layer.provideMerge(AlertService.layer)),
  ChatWorker.layer,
  ConversationService.layer,
  StatsService.layer,
  AuthService.layer,
  FirstRunSetup.layer,
  // Roles and the audit log
  AdminService.layer,
  // access and limits
  BotUsers.layer,
  // the notes bots keep about their users (remember), for admins
  UserNotesAdmin.layer,
  // providers
  ProviderService.layer,
  McpServerService.layer,
  // Failures of every kind
  FailureService.layer.pipe(Layer.provide(ConversationService.layer))
).pipe(
  Layer.provideMerge(PipelineLayer),
  // The reply's context retrieves passages, so the pipeline gets the service too.
  Layer.provideMerge(KnowledgeService.layer)
)

/** Background work: the dispatcher and the scheduler always; long polling only without a public URL. */
export const processingLayer = (config: AppConfigShape) => {
  const dispatcher = Dispatcher.layerWith({
    ...defaultDispatcherOptions,
    concurrency: config.pipelineConcurrency,
    shutdownGraceMs: config.shutdownGraceSeconds * 1000,
    maxChatsPerBot: Option.getOrUndefined(config.pipelineMaxChatsPerBot)
  })
  const workers = Option.isSome(config.publicUrl)
    ? Layer.merge(EffectRunnerLoop, McpToolWatchLoop)
    : Layer.mergeAll(EffectRunnerLoop, McpToolWatchLoop, Poller.layerWith(Poller.defaultPollerOptions))
  // Scheduler
  const scheduler = schedulerLoop(jobOptions(config)).pipe(Layer.provideMerge(jobsLayer(config)))
  return Layer.merge(workers, scheduler).pipe(Layer.provideMerge(dispatcher))
}

/** The scheduler's jobs: run by the background work, listed by `GET /api/jobs`. */
const jobOptions = (config: AppConfigShape) => ({
  inboxRetentionDays: config.inboxRetentionDays,
  queueMaxAgeSeconds: config.queueMaxAgeSeconds,
  alertsEverySeconds: config.alertsEverySeconds
})

export const jobsLayer = (config: AppConfigShape) => schedulerLayer(jobOptions(config))

/** What the pipeline thread runs: the background work on its own pool of the same database. */
export const pipelineLayer = (config: AppConfigShape) =>
  processingLayer(config).pipe(
    Layer.provideMerge(applicationLayer),
    Layer.provideMerge(adaptersLayer(config)),
    Layer.provideMerge(databaseLayer(config)),
    Layer.provide(configAndTracingLayer(config))
  )

/** The configuration as a service, and tracing (exported over OTLP, or off). */
export const configAndTracingLayer = (config: AppConfigShape) =>
  Layer.merge(AppConfig.layer(config), Tracing.layer(config))
