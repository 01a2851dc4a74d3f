/**
 * One update is one trace: the webhook request, the pipeline (run later, from
 * the stored trace context), the LLM call and the Telegram calls, correctly
 * parented, exported over OTLP to a receiver in this test.
 */
import { afterAll, assert, layer } from "@effect/vitest"
import { Effect, Option } from "effect"
import {
  eventually,
  postUpdate,
  layer as serverLayer,
  TestServer,
  textUpdate
} from "../support/inProcessServer.ts"
import { type ReceivedSpan, startOtlpReceiver } from "../support/otlpReceiver.ts"

const receiver = await startOtlpReceiver()
afterAll(() => receiver.close())

const ancestors = (spans: ReadonlyArray<ReceivedSpan>, span: ReceivedSpan): Array<string> => {
  const byId = new Map(spans.map((s) => [s.spanId, s]))
  const names: Array<string> = []
  let current = byId.get(span.parentSpanId)
  while (current) {
    names.push(current.name)
    current = byId.get(current.parentSpanId)
  }
  return names
}

layer(
  serverLayer(() => ({ otelTracesEndpoint: Option.some(receiver.url) })),
  {
    timeout: 60_000,
    excludeTestServices: true
  }
)("tracing", (it) => {
  it.effect(
    "webhook, pipeline, LLM and Telegram spans form one trace",
    () =>
      Effect.gen(function* () {
        const server = yield* TestServer
        const { bot } = yield* server.addBot("Traced")
        // This trace is about complete() and "typing…"; streamed answers show drafts instead.
        yield* server.bots.update(bot.id, { streaming: false }).pipe(Effect.orDie)
        // A model slower than the typing threshold, so the trace also shows "typing…".
        yield* server.openai.setLatency(1000)
        const response = yield* postUpdate(server.baseUrl, bot, textUpdate(7001, "trace me"))
        assert.strictEqual(response.status, 200)
        yield* eventually(() => server.telegram.sentTo(7001).length > 0)
        yield* server.openai.setLatency(0)

        // The SDK exports in batches every second.
        const webhook = yield* eventually(
          () => receiver.spans.find((span) => span.name === "Webhook.receive"),
          15_000
        )
        const trace = yield* eventually(() => {
          const spans = receiver.spans.filter((span) => span.traceId === webhook.traceId)
          return spans.some((span) => span.name === "Telegram.sendMessage") ? spans : undefined
        }, 15_000)
        const named = (name: string) => {
          const found = trace.find((span) => span.name === name)
          assert.isDefined(found, `span ${name} in the trace (have: ${trace.map((s) => s.name).join(", ")})`)
          return found!
        }

        const pipeline = named("Pipeline.update")
        assert.strictEqual(pipeline.parentSpanId, webhook.spanId, "processing continues the webhook's trace")
        assert.strictEqual(pipeline.attributes["bot.id"], bot.id)
        for (const step of [
          "Pipeline.ensureIncomingSaved",
          "Pipeline.ensureResponseGenerated",
          "Pipeline.ensureResponseSent"
        ]) {
          assert.include(ancestors(trace, named(step)), "Pipeline.update")
        }
        assert.include(ancestors(trace, named("LanguageModel.complete")), "Pipeline.ensureResponseGenerated")
        const send = named("Telegram.sendMessage")
        assert.include(ancestors(trace, send), "Pipeline.ensureResponseSent")
        assert.strictEqual(send.attributes["telegram.method"], "sendMessage")
        const typing = trace.find((span) => span.name === "Telegram.sendChatAction")
        assert.isDefined(typing)
      }),
    60_000
  )

  it.effect(
    "admin API requests are traced",
    () =>
      Effect.gen(function* () {
        const server = yield* TestServer
        const before = receiver.spans.length
        const response = yield* Effect.promise(() => fetch(`${server.baseUrl}/api/bots`))
        assert.strictEqual(response.status, 401)
        const span = yield* eventually(
          () => receiver.spans.slice(before).find((s) => s.attributes["url.path"] === "/api/bots"),
          15_000
        )
        // Named after the matched route, as OpenTelemetry's HTTP conventions say.
        assert.strictEqual(span?.name, "GET /api/bots")
      }),
    30_000
  )
})
