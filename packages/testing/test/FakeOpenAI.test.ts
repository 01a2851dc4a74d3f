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
