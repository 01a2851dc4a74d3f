/**
 * The whole process as one layer, built from the configuration: database,
 * adapters, use cases, background work (dispatcher, effect runner, poller)
 * and the HTTP server. `main.ts` launches it; tests build it with their own
 * configuration. Layers built later are stopped first: HTTP drains, then the
 * workers stop, then the database closes. The layers without HTTP are in
 * layers.ts.
 */
import { createServer } from "node:http"
import { AuthService, WebAppService } from "@botfleet/application"
import { NodeHttpServer } from "@effect/platform-node"
import { ByteSize, Effect, Layer, Option } from "effect"
import { HttpIncomingMessage, HttpRouter } from "effect/http"
import { ApiRoutes } from "./api/ApiRoutes.ts"
import * as LoginLockoutSql from "./api/LoginLockoutSql.ts"
import * as RateLimiterSql from "./api/RateLimiterSql.ts"
import type { AppConfigShape } from "./config/AppConfig.ts"
import { ConsoleRoutes } from "./http/ConsoleRoutes.ts"
import { TrustProxy } from "./http/clientAddress.ts"
import { HealthRoutes } from "./http/HealthRoutes.ts"
import { httpEdge } from "./http/httpEdge.ts"
import { WebhookRoutes } from "./ingress/WebhookRoutes.ts"
import {
  adaptersLayer,
  applicationLayer,
  configAndTracingLayer,
  databaseLayer,
  jobsLayer,
  processingLayer
} from "./layers.ts"
import { MetricsRoutes } from "./observability/MetricsRoutes.ts"
import * as PipelineThread from "./processing/PipelineThread.ts"
import { startupNoticeLayer } from "./startupNotice.ts"

/** The first admin, from ADMIN_EMAIL and ADMIN_PASSWORD, if both are set and the account is missing. */
const firstAdminLayer = (config: AppConfigShape) =>
  Layer.effectDiscard(
    Option.match(Option.all([config.adminEmail, config.adminPassword]), {
      onNone: () => Effect.void,
      onSome: ([email, password]) => Effect.flatMap(AuthService, (auth) => auth.ensureAdmin(email, password))
    })
  )

/** Mini App sign-in: needs the configured initData age limit. */
export const webAppLayer = (config: AppConfigShape) =>
  WebAppService.layer({ maxAgeSeconds: config.webappMaxAgeSeconds })

/** The HTTP thread's side of the pipeline thread; the jobs are listed here, run there. */
const pipelineThreadLayer = (config: AppConfigShape) =>
  Layer.merge(PipelineThread.layer(config), jobsLayer(config))

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
      // Login lockout counts shared by every process.
      ApiRoutes.pipe(Layer.provide(LoginLockoutSql.layer)),
      ConsoleRoutes,
      // Logging, HSTS, canonical path, origin check, CORS and API rate limits, in that order.
      httpEdge(config).pipe(Layer.provide(RateLimiterSql.layer))
    ),
    {
      disableLogger: true,
      // One spelling per route: httpEdge rewrites slashes, dots and escapes; case is not folded here.
      routerConfig: { caseSensitive: true, ignoreTrailingSlash: false, ignoreDuplicateSlashes: false }
    }
  ).pipe(
    // Needs the bound address, so it is built with the server, after it listens.
    Layer.merge(startupNoticeLayer(config)),
    Layer.provide(Layer.succeed(HttpIncomingMessage.MaxBodySize, ByteSize.bytes(BODY_LIMIT_BYTES))),
    // Read by whatever counts or records clients by address (rate limits, lockout, audit), at construction.
    Layer.provide(TrustProxy.layer(config.trustProxy)),
    Layer.provide(
      NodeHttpServer.layer(nodeServer(options.bodyTimeoutMs ?? BODY_TIMEOUT_MS), {
        port: config.port,
        host: config.host,
        // In-flight requests get this long to finish after SIGTERM.
        gracefulShutdownTimeout: `${config.shutdownGraceSeconds} seconds`
      })
    )
  )

export interface ServerOptions extends HttpOptions {
  /** "thread": the background work runs on a thread of its own (`npm start`); tests keep it here. */
  readonly pipeline?: "here" | "thread" | undefined
}

export const serverLayer = (config: AppConfigShape, options: ServerOptions = {}) =>
  httpLayer(config, options).pipe(
    Layer.provideMerge(
      Layer.mergeAll(
        options.pipeline === "thread" ? pipelineThreadLayer(config) : processingLayer(config),
        firstAdminLayer(config),
        webAppLayer(config)
      )
    ),
    Layer.provideMerge(applicationLayer),
    Layer.provideMerge(adaptersLayer(config)),
    Layer.provideMerge(databaseLayer(config)),
    Layer.provide(configAndTracingLayer(config))
  )

export * from "./layers.ts"
