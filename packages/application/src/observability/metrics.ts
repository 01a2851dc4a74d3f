/**
 * Every metric of the product, in one place and one system (Effect Metric,
 * exposed in Prometheus format at /metrics). Names and labels are documented
 * in docs/observability.md; dashboards depend on them.
 */
import { Clock, Effect, Metric } from "effect"

const secondsBuckets = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60]

export const httpRequestDuration = Metric.histogram("http_server_request_duration_seconds", {
  description: "HTTP request duration by method, route and status",
  boundaries: secondsBuckets
})

export const updatesReceived = Metric.counter("telegram_updates_received_total", {
  description: "Telegram updates accepted into the inbox, by bot and source (webhook, polling)",
  incremental: true
})

export const messagesSent = Metric.counter("telegram_messages_sent_total", {
  description: "Messages sent to Telegram, by bot and outcome (ok, error)",
  incremental: true
})

export const llmRequestDuration = Metric.histogram("llm_request_duration_seconds", {
  description: "LLM completion duration, retries included, by model",
  boundaries: secondsBuckets
})

export const llmRequests = Metric.counter("llm_requests_total", {
  description: "LLM completions by model and outcome (ok, error)",
  incremental: true
})

export const llmErrors = Metric.counter("llm_errors_total", {
  description:
    "LLM failures by model and type (auth, quota, rate_limited, timeout, unavailable, bad_request)",
  incremental: true
})

export const llmFallbackUsed = Metric.counter("llm_fallback_used_total", {
  description: "Completions answered by the fallback model, by the model that answered",
  incremental: true
})

export const llmTokens = Metric.counter("llm_tokens_total", {
  description: "Tokens by model and direction (input, output)",
  incremental: true
})

export const llmCost = Metric.counter("llm_cost_usd_total", {
  description: "LLM cost in USD by model",
  incremental: true
})

export const pipelineStepDuration = Metric.histogram("pipeline_step_duration_seconds", {
  description: "Duration of each reply pipeline step",
  boundaries: secondsBuckets
})

export const replyLatency = Metric.histogram("botfleet_reply_latency_seconds", {
  description: "From a message's arrival to the last chunk of its reply being sent",
  boundaries: secondsBuckets
})

export const pipelineFailures = Metric.counter("pipeline_failures_total", {
  description: "Update failures by class (retryable, terminal, fatal, invalid)",
  incremental: true
})

export const pendingUpdates = Metric.gauge("pipeline_pending_updates", {
  description: "Updates waiting in the inbox"
})

export const oldestPendingAge = Metric.gauge("pipeline_oldest_pending_age_seconds", {
  description: "Age of the oldest update waiting in the inbox"
})

export const failedUpdates = Metric.gauge("pipeline_failed_updates", {
  description: "Updates given up on (kept for admins)"
})

export const dbConnections = Metric.gauge("db_pool_connections", {
  description: "Database connections of this application by state (active, idle, …)"
})

// conversations
export const draftUpdates = Metric.counter("telegram_draft_updates_total", {
  description:
    "Streamed answer drafts sent to Telegram (sendMessageDraft), by bot and outcome (ok, error, refused)",
  incremental: true
})

export const transcriptionRequests = Metric.counter("transcription_requests_total", {
  description: "Recordings transcribed, by model and outcome (ok, error)",
  incremental: true
})

export const transcriptionAudioSeconds = Metric.counter("transcription_audio_seconds_total", {
  description: "Seconds of audio transcribed, by model",
  incremental: true
})

export const transcriptionErrors = Metric.counter("transcription_errors_total", {
  description:
    "Failed transcriptions and downloads, by kind (download, auth, quota, rate_limited, timeout, unavailable, bad_request)",
  incremental: true
})

export const speechRequests = Metric.counter("speech_requests_total", {
  description:
    "Voice answers: speech asked for, by model and outcome (ok; error: not made; refused: Telegram refused the note)",
  incremental: true
})

export const speechCharacters = Metric.counter("speech_characters_total", {
  description: "Characters spoken for voice answers, by model",
  incremental: true
})

/** Counts one event with labels. */
export const count = (metric: Metric.Counter<number>, attributes: Record<string, string>, value = 1) =>
  Metric.update(Metric.withAttributes(metric, attributes), value)

/** Records a duration in seconds with labels. */
export const observe = (
  metric: Metric.Histogram<number>,
  attributes: Record<string, string>,
  seconds: number
) => Metric.update(Metric.withAttributes(metric, attributes), seconds)

// access and limits
export const accessDenied = Metric.counter("botfleet_access_denied_total", {
  description: "Messages refused by a bot's access rule, by bot and reason (blocked, not_allowed)",
  incremental: true
})

export const limitReached = Metric.counter("botfleet_limit_reached_total", {
  description: "Messages not sent to the model because a limit was reached, by bot and limit",
  incremental: true
})
// Scheduler
export const schedulerJobRuns = Metric.counter("scheduler_job_runs_total", {
  description: "Scheduled job runs by job and outcome (ok, failed)",
  incremental: true
})

export const schedulerJobDuration = Metric.histogram("scheduler_job_duration_seconds", {
  description: "Duration of scheduled job runs by job",
  boundaries: secondsBuckets
})

export const schedulerLastSuccess = Metric.gauge("scheduler_job_last_success_timestamp_seconds", {
  description: "Unix time of each job's last successful run"
})

/** Sets a gauge with labels. */
export const set = (metric: Metric.Gauge<number>, attributes: Record<string, string>, value: number) =>
  Metric.update(Metric.withAttributes(metric, attributes), value)

// Alerts
export const alertsSent = Metric.counter("alerts_sent_total", {
  description: "Alert deliveries by kind, channel (webhook, telegram) and outcome (ok, error)",
  incremental: true
})

export const alertsRaised = Metric.counter("alerts_raised_total", {
  description: "Alerts raised (after dedupe) by kind",
  incremental: true
})

// Seed 002's names, next to today's.
export const telegramMessagesReceived = Metric.counter("telegram_messages_received_total", {
  description: "Seed 002's name for telegram_updates_received_total (same count, same labels)",
  incremental: true
})

export const databaseQueryDuration = Metric.histogram("database_query_duration_seconds", {
  description: "Duration of the scheduler's and retention's queries, by query",
  boundaries: secondsBuckets
})

export const databasePoolSize = Metric.gauge("database_connection_pool_size", {
  description: "Connections the pool may open"
})

export const databasePoolAvailable = Metric.gauge("database_connection_pool_available", {
  description: "Pool connections not busy with a query (size minus active)"
})

export const statsApiRequests = Metric.counter("stats_api_requests_total", {
  description: "GET /api/stats requests by period",
  incremental: true
})

/** Times `effect` into database_query_duration_seconds with the query's name. */
export const timedQuery =
  (query: string) =>
  <A, E, R>(effect: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
    Effect.gen(function* () {
      const started = yield* Clock.currentTimeMillis
      const exit = yield* Effect.exit(effect)
      yield* observe(databaseQueryDuration, { query }, ((yield* Clock.currentTimeMillis) - started) / 1000)
      return yield* exit
    })
