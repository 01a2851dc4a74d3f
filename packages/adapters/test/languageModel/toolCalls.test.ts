import type { ChatTurn, CompletionRequest, ToolDefinition } from "@botfleet/application"
import { FakeOpenAI } from "@botfleet/testing"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Redacted, Stream } from "effect"
import { make } from "../../src/languageModel/LanguageModelOpenAI.ts"
import { defaultPrices } from "../../src/languageModel/prices.ts"

const tools: ReadonlyArray<ToolDefinition> = [
  {
    name: "current_time",
    description: "The time",
    parameters: { type: "object", properties: { timeZone: { type: "string" } } }
  },
  {
    name: "lookup_order",
    description: "An order",
    parameters: { type: "object", properties: { number: { type: "string" } }, required: ["number"] }
  }
]

const question: ReadonlyArray<ChatTurn> = [{ role: "user", content: "what time is it, and my order 42?" }]

const adapterFor = (fake: FakeOpenAI.FakeOpenAI) =>
  make({
    apiKey: Redacted.make("sk-test"),
    baseUrl: fake.baseUrl,
    fallbackModel: undefined,
    prices: defaultPrices,
    maxRetries: 0
  })

/** Asks for both tools at once on the first request, answers in text once it has their results. */
const parallelThenText = (request: FakeOpenAI.ReplyRequest): FakeOpenAI.Reply =>
  request.messages.some((message) => message.role === "tool")
    ? "It is noon and order 42 has shipped."
    : {
        content: null,
        toolCalls: [
          { id: "call_a", name: "current_time", arguments: { timeZone: "Europe/Berlin" } },
          { id: "call_b", name: "lookup_order", arguments: { number: "42" } }
        ]
      }

const asked: CompletionRequest = { model: "gpt-4o-mini", messages: question, tools }

const expectedCalls = [
  { id: "call_a", name: "current_time", arguments: '{"timeZone":"Europe/Berlin"}' },
  { id: "call_b", name: "lookup_order", arguments: '{"number":"42"}' }
]

describe("LanguageModelOpenAI tool calls", () => {
  it.live("offers the tools and returns parallel calls; the results go back as tool messages", () =>
    Effect.gen(function* () {
      const fake = yield* FakeOpenAI.make({ reply: parallelThenText })
      const model = adapterFor(fake)
      const first = yield* model.complete(asked)
      assert.deepStrictEqual(first.toolCalls, expectedCalls)
      assert.strictEqual(first.text, "")
      assert.isAbove(first.outputTokens + first.inputTokens, 0)

      const second = yield* model.complete({
        ...asked,
        toolChoice: "none",
        messages: [
          ...question,
          { role: "assistant", content: "", toolCalls: first.toolCalls },
          { role: "tool", toolCallId: "call_a", content: '{"iso":"12:00"}' },
          { role: "tool", toolCallId: "call_b", content: "shipped" }
        ]
      })
      assert.strictEqual(second.text, "It is noon and order 42 has shipped.")
      assert.isUndefined(second.toolCalls)

      const [one, two] = yield* fake.requests
      assert.deepStrictEqual(one!.tools, ["current_time", "lookup_order"])
      assert.strictEqual(two!.toolChoice, "none")
      assert.deepStrictEqual(two!.messages[1], { role: "assistant", content: "", toolCalls: expectedCalls })
      assert.deepStrictEqual(two!.messages[2], {
        role: "tool",
        content: '{"iso":"12:00"}',
        toolCallId: "call_a"
      })
    })
  )

  it.live("a streamed answer assembles the calls' pieces by index", () =>
    Effect.gen(function* () {
      const fake = yield* FakeOpenAI.make({ reply: parallelThenText })
      const events = yield* Stream.runCollect(adapterFor(fake).stream(asked))
      const finished = events.at(-1)
      assert.strictEqual(finished?._tag, "Finished")
      if (finished?._tag !== "Finished") return
      assert.deepStrictEqual(finished.completion.toolCalls, expectedCalls)
      assert.isTrue((yield* fake.requests)[0]!.stream)
    })
  )

  it.live("a server that refuses tools is answered without them, once asked and then never again", () =>
    Effect.gen(function* () {
      const fake = yield* FakeOpenAI.make({ reply: () => "no tools here" })
      yield* fake.setRefuseTools(true)
      const model = adapterFor(fake)
      const first = yield* model.complete(asked)
      assert.strictEqual(first.text, "no tools here")
      assert.isTrue(first.toolsRefused)
      const streamed = yield* Stream.runCollect(model.stream(asked))
      const last = streamed.at(-1)
      assert.strictEqual(last?._tag === "Finished" ? last.completion.text : "", "no tools here")
      // Refused once (400), answered without; the streamed request went without at once.
      const requests = yield* fake.requests
      assert.deepStrictEqual(
        requests.map((request) => request.tools.length),
        [2, 0, 0]
      )
    })
  )

  it.live("a 400 about something else is not taken for a refusal of tools", () =>
    Effect.gen(function* () {
      const fake = yield* FakeOpenAI.make()
      yield* fake.failNext({ status: 400, body: { error: { message: "context too long", code: null } } })
      const error = yield* Effect.flip(adapterFor(fake).complete(asked))
      assert.strictEqual(error.kind, "bad_request")
      assert.strictEqual((yield* fake.requests).length, 1)
    })
  )
})
