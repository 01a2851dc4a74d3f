/**
 * The whole process as one layer, built from the configuration: database,
 * adapters, use cases, background work (dispatcher, effect runner, poller)
 * and the HTTP server. `main.ts` launches it; tests build it with their own
 * configuration. Layers built later are stopped first: HTTP drains, then the
 * workers stop, then the database closes.
 */
import { createServer } from "node:http"
import {
  LanguageModelOpenAI,
  Prices,
  RepositoriesPg,
  SecretBoxAes,
  TelegramGatewayTelegraf,
  UpdateInboxPg
} from "@botfleet/adapters"
import { Database } from "@botfleet/adapters/postgres"
import { BotService, ChatWorker, EffectRunner, HandleUpdate, Settings } from "@botfleet/application"
import { NodeHttpServer } from "@effect/platform-node"
import { Effect, Layer, Option, Result } from "effect"
import { HttpRouter } from "effect/http"
import type { AppConfigShape } from "./config/AppConfig.ts"
import * as AppConfig from "./config/AppConfig.ts"
import { HealthRoutes } from "./http/HealthRoutes.ts"
import { requestLog } from "./http/requestLog.ts"
import * as Poller from "./ingress/Poller.ts"
import { WebhookRoutes } from "./ingress/WebhookRoutes.ts"
import { Dispatcher, defaultDispatcherOptions } from "./processing/Dispatcher.ts"
import { EffectRunnerLoop } from "./processing/EffectRunnerLoop.ts"

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
    TelegramGatewayTelegraf.layer({ apiRoot: config.telegramApiRoot }),
    LanguageModelOpenAI.layer({
      apiKey: Option.getOrUndefined(config.openaiApiKey),
      baseUrl: Option.getOrUndefined(config.openaiBaseUrl),
      fallbackModel: Option.getOrUndefined(config.openaiFallbackModel),
      // Validated when the configuration was read.
      prices: Result.getOrElse(
        Prices.pricesWithOverrides(Option.getOrUndefined(config.openaiPrices)),
        () => Prices.defaultPrices
      )
    }),
    secretBoxLayer(config),
    Layer.succeed(Settings, Settings.of({ publicUrl: config.publicUrl, defaultModel: config.openaiModel }))
  )

/** Use cases on top of the ports. */
export const applicationLayer = Layer.mergeAll(BotService.layer, EffectRunner.layer, ChatWorker.layer).pipe(
  Layer.provideMerge(HandleUpdate.layer)
)

/** Background work: the dispatcher always; long polling only without a public URL. */
export const processingLayer = (config: AppConfigShape) => {
  const dispatcher = Dispatcher.layerWith({
    ...defaultDispatcherOptions,
    concurrency: config.pipelineConcurrency
  })
  const workers = Option.isSome(config.publicUrl)
    ? EffectRunnerLoop
    : Layer.mergeAll(EffectRunnerLoop, Poller.layerWith(Poller.defaultPollerOptions))
  return workers.pipe(Layer.provideMerge(dispatcher))
}

export const httpLayer = (config: AppConfigShape) =>
  HttpRouter.serve(Layer.mergeAll(HealthRoutes, WebhookRoutes, requestLog), { disableLogger: true }).pipe(
    Layer.provide(
      NodeHttpServer.layer(createServer, {
        port: config.port,
        host: config.host,
        // In-flight requests get this long to finish after SIGTERM.
        gracefulShutdownTimeout: "25 seconds"
      })
    )
  )

export const serverLayer = (config: AppConfigShape) =>
  httpLayer(config).pipe(
    Layer.provideMerge(processingLayer(config)),
    Layer.provideMerge(applicationLayer),
    Layer.provideMerge(adaptersLayer(config)),
    Layer.provideMerge(databaseLayer(config)),
    Layer.provide(AppConfig.layer(config))
  )
