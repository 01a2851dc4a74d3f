import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import * as FakeOpenAI from "../src/FakeOpenAI.ts"

const post = (fake: FakeOpenAI.FakeOpenAI, body: unknown) =>
  Effect.promise(async () => {
    const response = await fetch(new URL(`${fake.baseUrl.pathname}/chat/completions`, fake.baseUrl), {
      method: "POST",
      headers: { "content-type": "application/json", authorization: "Bearer sk-wire" },
      body: JSON.stringify(body)
    })
    return { status: response.status, headers: response.headers, json: (await response.json()) as unknown }
  })

describe("FakeOpenAI", () => {
  it.live("answers in OpenAI's chat.completion wire format", () =>
    Effect.gen(function* () {
      const fake = yield* FakeOpenAI.make()
      assert.isTrue(fake.baseUrl.href.endsWith("/v1"))
      const { status, json } = yield* post(fake, {
        model: "gpt-4o-mini",
        messages: [
          { role: "system", content: "12345678" },
          { role: "user", content: [{ type: "text", text: "hi" }] }
        ]
      })
      assert.strictEqual(status, 200)
      assert.deepInclude(json, {
        object: "chat.completion",
        model: "gpt-4o-mini",
        usage: { prompt_tokens: 3, completion_tokens: 3, total_tokens: 6 }
      })
      assert.deepInclude(json, {
        choices: [
          {
            index: 0,
            message: { role: "assistant", content: "reply to: hi", refusal: null },
            logprobs: null,
            finish_reason: "stop"
          }
        ]
      })
      const [request] = yield* fake.requests
      assert.deepStrictEqual(request?.messages, [
        { role: "system", content: "12345678" },
        { role: "user", content: "hi" }
      ])
      assert.strictEqual(request?.apiKey, "sk-wire")
    })
  )

  it.live("fails in OpenAI's error shape, per model, for as many requests as asked", () =>
    Effect.gen(function* () {
      const fake = yield* FakeOpenAI.make()
      yield* fake.failNext({ status: 429, retryAfter: 3, times: 2, model: "busy" })
      const other = yield* post(fake, { model: "calm", messages: [] })
      assert.strictEqual(other.status, 200)
      for (let i = 0; i < 2; i++) {
        const failed = yield* post(fake, { model: "busy", messages: [] })
        assert.strictEqual(failed.status, 429)
        assert.strictEqual(failed.headers.get("retry-after"), "3")
        assert.deepStrictEqual(failed.json, {
          error: {
            message: "Rate limit reached for busy. Please try again later.",
            type: "requests",
            param: null,
            code: "rate_limit_exceeded"
          }
        })
      }
      assert.strictEqual((yield* post(fake, { model: "busy", messages: [] })).status, 200)
      const malformed = yield* post(fake, { messages: [] })
      assert.strictEqual(malformed.status, 400)
      assert.deepInclude(malformed.json, {
        error: {
          message: "you must provide a model parameter",
          type: "invalid_request_error",
          param: null,
          code: null
        }
      })
    })
  )

  it.live("keeps up with many concurrent requests", () =>
    Effect.gen(function* () {
      const fake = yield* FakeOpenAI.make({ record: false })
      const results = yield* Effect.forEach(
        Array.from({ length: 500 }, (_, i) => i),
        (i) => post(fake, { model: "m", messages: [{ role: "user", content: `n${i}` }] }),
        { concurrency: 100 }
      )
      assert.isTrue(results.every((result) => result.status === 200))
      assert.strictEqual((yield* fake.requests).length, 0)
    })
  )
})

const postStream = (fake: FakeOpenAI.FakeOpenAI, body: unknown) =>
  Effect.promise(async () => {
    const response = await fetch(new URL(`${fake.baseUrl.pathname}/chat/completions`, fake.baseUrl), {
      method: "POST",
      headers: { "content-type": "application/json", authorization: "Bearer sk-wire" },
      body: JSON.stringify(body)
    })
    const text = await response.text()
    const events = text
      .split("\n\n")
      .filter((event) => event !== "")
      .map((event) => {
        if (!event.startsWith("data: ")) throw new Error(`not an SSE data line: ${event}`)
        return event.slice("data: ".length)
      })
    return { status: response.status, type: response.headers.get("content-type"), events }
  })

interface Chunk {
  readonly object: string
  readonly model: string
  readonly choices: ReadonlyArray<{
    readonly delta: { readonly role?: string; readonly content?: string }
    readonly finish_reason: string | null
  }>
  readonly usage: { readonly prompt_tokens: number; readonly completion_tokens: number } | null
}

describe("FakeOpenAI streaming", () => {
  it.live("stream: true answers with chat.completion.chunk events, then usage, then [DONE]", () =>
    Effect.gen(function* () {
      const fake = yield* FakeOpenAI.make({ reply: () => "one two three four five six seven" })
      const { status, type, events } = yield* postStream(fake, {
        model: "gpt-4o-mini",
        messages: [{ role: "user", content: "12345678" }],
        stream: true,
        stream_options: { include_usage: true }
      })
      assert.strictEqual(status, 200)
      assert.strictEqual(type, "text/event-stream")
      assert.strictEqual(events.at(-1), "[DONE]")
      const chunks = events.slice(0, -1).map((event) => JSON.parse(event) as Chunk)
      assert.isTrue(chunks.every((chunk) => chunk.object === "chat.completion.chunk"))
      assert.strictEqual(chunks[0]!.choices[0]!.delta.role, "assistant")
      const text = chunks.map((chunk) => chunk.choices[0]?.delta.content ?? "").join("")
      assert.strictEqual(text, "one two three four five six seven")
      // More than one content piece: the client really has to put the answer together.
      assert.isAbove(chunks.filter((chunk) => (chunk.choices[0]?.delta.content ?? "") !== "").length, 1)
      const usage = chunks.at(-1)!
      assert.deepStrictEqual(usage.choices, [])
      assert.deepInclude(usage.usage, { prompt_tokens: 2, completion_tokens: 9 })
      assert.strictEqual(chunks.at(-2)!.choices[0]!.finish_reason, "stop")
      assert.isTrue((yield* fake.requests)[0]!.stream)
    })
  )

  it.live("without stream_options.include_usage no usage chunk is sent", () =>
    Effect.gen(function* () {
      const fake = yield* FakeOpenAI.make({ reply: () => "hi" })
      const { events } = yield* postStream(fake, {
        model: "gpt-4o-mini",
        messages: [{ role: "user", content: "x" }],
        stream: true
      })
      const chunks = events.slice(0, -1).map((event) => JSON.parse(event) as Chunk)
      assert.isTrue(chunks.every((chunk) => chunk.usage === null && chunk.choices.length === 1))
    })
  )

  it.live("a scripted failure answers the streamed request with the plain HTTP error", () =>
    Effect.gen(function* () {
      const fake = yield* FakeOpenAI.make()
      yield* fake.failNext({ status: 503 })
      const { status } = yield* post(fake, { model: "m", messages: [], stream: true })
      assert.strictEqual(status, 503)
    })
  )
})
