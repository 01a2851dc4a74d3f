import { describe, expect, it } from "vitest"
import { mergeMetrics } from "../../src/observability/mergeMetrics.ts"

const httpThread = `# HELP http_requests_total Requests
# TYPE http_requests_total counter
http_requests_total{route="/ready"} 3
# HELP llm_request_duration_seconds LLM calls
# TYPE llm_request_duration_seconds histogram
llm_request_duration_seconds_bucket{le="1"} 1
llm_request_duration_seconds_bucket{le="+Inf"} 2
llm_request_duration_seconds_sum 2.5
llm_request_duration_seconds_count 2
`

const pipelineThread = `# HELP llm_request_duration_seconds LLM calls
# TYPE llm_request_duration_seconds histogram
llm_request_duration_seconds_bucket{le="1"} 4
llm_request_duration_seconds_bucket{le="+Inf"} 5
llm_request_duration_seconds_sum 3
llm_request_duration_seconds_count 5
# HELP telegram_messages_sent_total Sends
# TYPE telegram_messages_sent_total counter
telegram_messages_sent_total{outcome="ok"} 7
`

describe("mergeMetrics", () => {
  it("lists each family once and adds up the series both threads count", () => {
    expect(mergeMetrics([httpThread, pipelineThread])).toBe(`# HELP http_requests_total Requests
# TYPE http_requests_total counter
http_requests_total{route="/ready"} 3
# HELP llm_request_duration_seconds LLM calls
# TYPE llm_request_duration_seconds histogram
llm_request_duration_seconds_bucket{le="1"} 5
llm_request_duration_seconds_bucket{le="+Inf"} 7
llm_request_duration_seconds_sum 5.5
llm_request_duration_seconds_count 7
# HELP telegram_messages_sent_total Sends
# TYPE telegram_messages_sent_total counter
telegram_messages_sent_total{outcome="ok"} 7
`)
  })

  it("keeps one thread's text as it is", () => {
    expect(mergeMetrics([httpThread])).toBe(httpThread)
    expect(mergeMetrics(["", ""])).toBe("")
  })
})
