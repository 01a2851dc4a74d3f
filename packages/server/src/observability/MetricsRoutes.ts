/**
 * `GET /metrics` (Prometheus text format) and `GET /health/queue`. Gauges
 * that describe state (queue, connections, the process) are read at scrape
 * time; everything else is counted where it happens. With `METRICS_TOKEN`
 * set, `/metrics` wants `Authorization: Bearer <token>`: the series name
 * bots, routes and volumes, which is more than an open port should tell.
 */
import { createHash, timingSafeEqual } from "node:crypto"
import { monitorEventLoopDelay } from "node:perf_hooks"
import { Metrics, UpdateInbox } from "@botfleet/application"
import { Effect, Metric, Option, Redacted } from "effect"
import { HttpRouter, HttpServerRequest, HttpServerResponse } from "effect/http"
import { PrometheusMetrics } from "effect/observability"
import { SqlClient } from "effect/sql"
import { AppConfig } from "../config/AppConfig.ts"
import { errorResponse } from "../http/errorResponse.ts"
import { mergeMetrics, OtherMetrics } from "./mergeMetrics.ts"

/** As `databaseLayer` in Server.ts opens it. */
const DATABASE_POOL_SIZE = 20

const processMemory = Metric.gauge("process_resident_memory_bytes", {
  description: "Resident memory of the process"
})
const heapUsed = Metric.gauge("nodejs_heap_used_bytes", { description: "V8 heap in use" })
const cpuSeconds = Metric.gauge("process_cpu_seconds_total", {
  description: "CPU time used by the process, user plus system"
})
const uptime = Metric.gauge("process_uptime_seconds", { description: "Seconds since the process started" })
const eventLoopLag = Metric.gauge("nodejs_eventloop_lag_p99_seconds", {
  description: "99th percentile of event loop delay since the previous scrape"
})

const digest = (text: string) => createHash("sha256").update(text).digest()

/**
 * Whether `authorization` carries `Bearer <token>`. Both sides are hashed
 * first, so the comparison takes the same time whatever the length or the
 * first differing byte.
 */
export const bearerMatches = (
  authorization: string | undefined,
  token: Redacted.Redacted<string>
): boolean => {
  const given = /^Bearer +(\S+) *$/i.exec(authorization ?? "")?.[1]
  return given !== undefined && timingSafeEqual(digest(given), digest(Redacted.value(token)))
}

const unauthorized = () =>
  HttpServerResponse.setHeader(
    errorResponse(401, "unauthorized", "send Authorization: Bearer <METRICS_TOKEN>"),
    "www-authenticate",
    'Bearer realm="metrics"'
  )

export const MetricsRoutes = HttpRouter.use(
  Effect.fn(function* (router) {
    const inbox = yield* UpdateInbox
    const sql = yield* SqlClient.SqlClient
    const config = yield* AppConfig
    const otherMetrics = yield* OtherMetrics
    const loopDelay = monitorEventLoopDelay({ resolution: 20 })
    loopDelay.enable()

    const refreshGauges = Effect.gen(function* () {
      const queue = yield* inbox.stats
      yield* Metric.update(Metrics.pendingUpdates, queue.pending)
      yield* Metric.update(Metrics.oldestPendingAge, queue.oldestPendingAgeSeconds)
      yield* Metric.update(Metrics.failedUpdates, queue.failed)
      const connections = yield* sql<{ state: string | null; count: number }>`
        SELECT coalesce(state, 'unknown') AS state, count(*)::int AS count
        FROM pg_stat_activity WHERE application_name = 'botfleet' GROUP BY 1`.pipe(
        Effect.orElseSucceed(() => [])
      )
      for (const state of ["active", "idle", "idle in transaction"]) {
        const count = connections.find((row) => row.state === state)?.count ?? 0
        yield* Metric.update(Metric.withAttributes(Metrics.dbConnections, { state }), count)
      }
      // Seed 002's pool gauges.
      const busy = connections.filter((row) => row.state !== "idle").reduce((sum, row) => sum + row.count, 0)
      yield* Metric.update(Metrics.databasePoolSize, DATABASE_POOL_SIZE)
      yield* Metric.update(Metrics.databasePoolAvailable, Math.max(0, DATABASE_POOL_SIZE - busy))
      const memory = process.memoryUsage()
      const cpu = process.cpuUsage()
      yield* Metric.update(processMemory, memory.rss)
      yield* Metric.update(heapUsed, memory.heapUsed)
      yield* Metric.update(cpuSeconds, (cpu.user + cpu.system) / 1e6)
      yield* Metric.update(uptime, process.uptime())
      yield* Metric.update(eventLoopLag, loopDelay.percentile(99) / 1e9)
      loopDelay.reset()
    })

    yield* router.add(
      "GET",
      "/metrics",
      Effect.gen(function* () {
        if (Option.isSome(config.metricsToken)) {
          const request = yield* HttpServerRequest.HttpServerRequest
          if (!bearerMatches(request.headers.authorization, config.metricsToken.value)) return unauthorized()
        }
        yield* refreshGauges
        const own = yield* PrometheusMetrics.format()
        const others = yield* otherMetrics
        return HttpServerResponse.text(others.length === 0 ? own : mergeMetrics([own, ...others]), {
          contentType: "text/plain; version=0.0.4; charset=utf-8"
        })
      })
    )

    yield* router.add(
      "GET",
      "/health/queue",
      Effect.gen(function* () {
        const queue = yield* inbox.stats
        const healthy = queue.oldestPendingAgeSeconds <= config.queueMaxAgeSeconds
        return HttpServerResponse.jsonUnsafe(
          {
            status: healthy ? "ok" : "backlog",
            pending: queue.pending,
            oldestPendingAgeSeconds: Math.round(queue.oldestPendingAgeSeconds * 10) / 10,
            failed: queue.failed,
            maxAgeSeconds: config.queueMaxAgeSeconds
          },
          { status: healthy ? 200 : 503 }
        )
      })
    )
  })
)
