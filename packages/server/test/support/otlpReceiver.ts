/** A local OTLP/HTTP receiver (JSON) that keeps every span it is sent. */
import { createServer } from "node:http"

export interface ReceivedSpan {
  readonly traceId: string
  readonly spanId: string
  readonly parentSpanId: string
  readonly name: string
  readonly attributes: Record<string, unknown>
}

interface OtlpValue {
  readonly stringValue?: string
  readonly intValue?: string | number
  readonly doubleValue?: number
  readonly boolValue?: boolean
}

const attributeValue = (value: OtlpValue) =>
  value.stringValue ?? value.intValue ?? value.doubleValue ?? value.boolValue

export const startOtlpReceiver = async () => {
  const spans: Array<ReceivedSpan> = []
  const server = createServer((request, response) => {
    const chunks: Array<Buffer> = []
    request.on("data", (chunk: Buffer) => chunks.push(chunk))
    request.on("end", () => {
      const body = JSON.parse(Buffer.concat(chunks).toString("utf8") || "{}") as {
        resourceSpans?: Array<{
          scopeSpans?: Array<{
            spans?: Array<{
              traceId: string
              spanId: string
              parentSpanId?: string
              name: string
              attributes?: Array<{ key: string; value: OtlpValue }>
            }>
          }>
        }>
      }
      for (const resource of body.resourceSpans ?? []) {
        for (const scope of resource.scopeSpans ?? []) {
          for (const span of scope.spans ?? []) {
            spans.push({
              traceId: span.traceId,
              spanId: span.spanId,
              parentSpanId: span.parentSpanId ?? "",
              name: span.name,
              attributes: Object.fromEntries(
                (span.attributes ?? []).map((a) => [a.key, attributeValue(a.value)])
              )
            })
          }
        }
      }
      response.setHeader("content-type", "application/json")
      response.end("{}")
    })
  })
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
  const address = server.address()
  const port = typeof address === "object" && address ? address.port : 0
  return {
    url: new URL(`http://127.0.0.1:${port}/v1/traces`),
    spans,
    close: () => new Promise<void>((resolve) => server.close(() => resolve()))
  }
}
