/**
 * The whole process as one layer, built from the configuration: database,
 * HTTP routes and background work. `main.ts` launches it; tests build it with
 * their own configuration.
 */
import { createServer } from "node:http"
import { Database } from "@botfleet/adapters/postgres"
import { NodeHttpServer } from "@effect/platform-node"
import { Layer } from "effect"
import { HttpRouter } from "effect/http"
import type { AppConfigShape } from "./config/AppConfig.ts"
import * as AppConfig from "./config/AppConfig.ts"
import { HealthRoutes } from "./http/HealthRoutes.ts"
import { requestLog } from "./http/requestLog.ts"

export const databaseLayer = (config: AppConfigShape) =>
  Database.layer({ url: config.databaseUrl, dataDir: config.dataDir })

export const httpLayer = (config: AppConfigShape) =>
  HttpRouter.serve(Layer.mergeAll(HealthRoutes, requestLog), { disableLogger: true }).pipe(
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
  httpLayer(config).pipe(Layer.provide(databaseLayer(config)), Layer.provide(AppConfig.layer(config)))
