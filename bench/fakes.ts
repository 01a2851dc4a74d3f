/**
 * The fake Telegram and OpenAI servers as a process of their own, so the
 * benchmark measures the server, not fakes sharing its event loop. Prints one
 * JSON line with their URLs, then serves `GET /sent` (every sendMessage with
 * its time) and `GET /stats` (flood refusals, calls, the model's rate-limit
 * counts) on a control port until stdin closes.
 *
 *   node bench/fakes.ts [llmLatencyMs] [options as JSON]
 *
 * options: `strictTelegram` (one message a second per chat, no burst, drafts
 * counted), `streamMillis` (a streamed answer takes this long), and
 * `requestsPerMinute` (the model refuses past it with 429 and retry-after), and
 * `toolStep` (offered `current_time`, the model calls it once, then answers).
 */
import { createServer } from "node:http"
import { FakeOpenAI, FakeTelegram } from "@botfleet/testing"
import { Effect, Layer } from "effect"

const llmLatencyMs = Number(process.argv[2] ?? 0)
const options = JSON.parse(process.argv[3] ?? "{}") as {
  readonly strictTelegram?: boolean
  readonly streamMillis?: number
  readonly requestsPerMinute?: number
  readonly toolStep?: boolean
}

const program = Effect.gen(function* () {
  const telegram = yield* FakeTelegram.make()
  const openai = yield* FakeOpenAI.make({ latencyMillis: llmLatencyMs, record: false })
  if (options.strictTelegram) telegram.setFloodLimits(FakeTelegram.strictFloodLimits)
  if (options.streamMillis) yield* openai.setStreamDuration(options.streamMillis)
  if (options.requestsPerMinute) yield* openai.setRateLimit(options.requestsPerMinute)
  if (options.toolStep) {
    // Once per question: earlier questions' calls in the history do not count.
    yield* openai.setReply((request) => {
      const asked = request.messages.findLastIndex((message) => message.role === "user")
      const called = request.messages.slice(asked).some((message) => message.role === "tool")
      return request.tools.includes("current_time") && !called
        ? { content: null, toolCalls: [{ name: "current_time", arguments: {} }] }
        : FakeOpenAI.defaultReply(request)
    })
  }
  const control = createServer((request, response) => {
    if (request.url === "/stats") {
      response.setHeader("content-type", "application/json")
      response.end(
        JSON.stringify({
          floodRejections: telegram.floodRejections(),
          sendMessageCalls: telegram.calls("sendMessage"),
          draftCalls: telegram.calls("sendMessageDraft"),
          drafts: telegram.drafts.length,
          llm: Effect.runSync(openai.rateLimitCounts),
          llmPeakInFlight: Effect.runSync(openai.peakInFlight),
          llmInFlight: Effect.runSync(openai.inFlight)
        })
      )
      return
    }
    if (request.url === "/sent") {
      response.setHeader("content-type", "application/json")
      response.end(
        JSON.stringify(telegram.sent.map((message) => [message.chatId, message.text, message.time]))
      )
      return
    }
    if (request.url === "/calls") {
      // Calls per Bot API method so far (the polling fleet counts its getUpdates).
      response.setHeader("content-type", "application/json")
      response.end(JSON.stringify(telegram.callCounts()))
      return
    }
    if (request.url === "/push" && request.method === "POST") {
      // Updates for long polling, queued in one go: [{ token, update }].
      const chunks: Array<Buffer> = []
      request.on("data", (chunk: Buffer) => chunks.push(chunk))
      request.on("end", () => {
        const items = JSON.parse(Buffer.concat(chunks).toString("utf8")) as Array<{
          token: string
          update: Record<string, unknown>
        }>
        const time = Date.now()
        for (const item of items) telegram.pushUpdate(item.token, item.update)
        response.setHeader("content-type", "application/json")
        response.end(JSON.stringify({ time }))
      })
      return
    }
    const register = /^\/register\/(\d+)\/(\w+)\/(.+)$/.exec(request.url ?? "")
    if (register) {
      const token = decodeURIComponent(register[3]!)
      telegram.registerBot(token, {
        id: Number(register[1]),
        username: register[2]!,
        firstName: register[2]!
      })
      response.end("ok")
      return
    }
    response.statusCode = 404
    response.end()
  })
  yield* Effect.callback<void>((resume) => {
    control.listen(0, "127.0.0.1", () => resume(Effect.void))
  })
  const address = control.address()
  const controlPort = typeof address === "object" && address ? address.port : 0
  process.stdout.write(
    `${JSON.stringify({ telegramApiRoot: telegram.apiRoot.toString(), openaiBaseUrl: openai.baseUrl.toString(), control: `http://127.0.0.1:${controlPort}` })}\n`
  )
  yield* Effect.callback<void>((resume) => {
    process.stdin.on("close", () => resume(Effect.void))
    process.stdin.resume()
  })
  control.close()
})

Effect.runPromise(Effect.scoped(program).pipe(Effect.provide(Layer.empty))).then(
  () => process.exit(0),
  (error) => {
    process.stderr.write(`${String(error)}\n`)
    process.exit(1)
  }
)
