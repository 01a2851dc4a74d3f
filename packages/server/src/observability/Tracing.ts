/**
 * Traces over OTLP/HTTP when an endpoint is configured (OTEL_EXPORTER_OTLP_*);
 * otherwise tracing is switched off (`References.TracerEnabled`), so the
 * spans of `Effect.fn` and `withSpan` become no-op spans: nobody reads them,
 * and the pipeline makes about twenty per update. Effect spans
 * (`Effect.fn`, `withSpan`) become OpenTelemetry spans through
 * `@effect/opentelemetry`; the SDK batches and exports them.
 */
import { Effect, Layer, Option, References } from "effect"
import type { AppConfigShape } from "../config/AppConfig.ts"
import { version } from "../version.ts"

/** The OpenTelemetry SDK and exporter cost about 60 MB of memory per thread once loaded: only with an endpoint. */
const exportTo = (endpoint: URL, config: AppConfigShape) =>
  Layer.unwrap(
    Effect.promise(async () => {
      const [NodeSdk, { OTLPTraceExporter }, { BatchSpanProcessor }] = await Promise.all([
        import("@effect/opentelemetry/NodeSdk"),
        import("@opentelemetry/exporter-trace-otlp-http"),
        import("@opentelemetry/sdk-trace-base")
      ])
      return NodeSdk.layer(() => ({
        resource: { serviceName: config.otelServiceName, serviceVersion: version },
        spanProcessor: new BatchSpanProcessor(new OTLPTraceExporter({ url: endpoint.toString() }), {
          scheduledDelayMillis: 1000
        }),
        shutdownTimeout: "5 seconds"
      }))
    })
  )

export const layer = (config: AppConfigShape) =>
  Option.match(config.otelTracesEndpoint, {
    onNone: () => Layer.succeed(References.TracerEnabled, false),
    onSome: (endpoint) => exportTo(endpoint, config)
  })
