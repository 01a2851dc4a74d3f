/**
 * Tool calling end to end, on the real server and PostgreSQL, with the fake
 * OpenAI asking for tools (streamed and not), a real MCP server
 * (FakeMcpServer, effect/ai McpServer over Streamable HTTP) and the fake
 * Telegram: two tool steps (a built-in, then an MCP tool) and the answer sent
 * once; parallel calls in one step; a tool error and a timeout told to the
 * model; out of steps, one more request that must answer; a provider that
 * refuses tools answered without them (last: the refusal is remembered).
 */
import { FakeMcpServer, type FakeOpenAI } from "@botfleet/testing"
import { assert, layer } from "@effect/vitest"
import { Effect } from "effect"
import { McpServerView } from "../../src/api/mcpServerSchemas.ts"
import { BotView, ChatView, MessageView, page } from "../../src/api/schemas.ts"
import { expectBody, loggedIn, withAdmin } from "../support/apiClient.ts"
import {
  eventually,
  postUpdate,
  layer as serverLayer,
  settled,
  TestServer,
  textUpdate
} from "../support/inProcessServer.ts"

const toolResults = (request: FakeOpenAI.ReplyRequest) =>
  request.messages.filter((message) => message.role === "tool")

const questionOf = (request: FakeOpenAI.ReplyRequest) =>
  request.messages.findLast((message) => message.role === "user")?.content ?? ""

interface StoredCall {
  readonly step: number
  readonly name: string
  readonly status: string
  readonly is_error: boolean
  readonly result: string | null
}

layer(serverLayer(withAdmin(), { recordLlmRequests: true }), { timeout: 120_000, excludeTestServices: true })(
  "tool calling",
  (it) => {
    /** A bot with current_time on and the MCP server's tools allowed; `streaming` as given. */
    const toolBot = (name: string, mcpUrl: string, settings: object = {}) =>
      Effect.gen(function* () {
        const server = yield* TestServer
        const api = yield* loggedIn(server.baseUrl)
        const mcp = expectBody(
          yield* api.post("/api/mcp-servers", {
            name: `${name} tools`,
            url: mcpUrl,
            timeoutSeconds: 1,
            allowedTools: ["lookup_order", "broken_tool", "slow_tool"]
          }),
          201,
          McpServerView
        )
        const { bot } = yield* server.addBot(name)
        const patched = expectBody(
          yield* api.patch(`/api/bots/${bot.id}`, {
            tools: ["current_time"],
            mcpServerIds: [mcp.id],
            ...settings
          }),
          200,
          BotView
        )
        assert.deepStrictEqual(patched.tools, ["current_time"])
        assert.strictEqual(patched.maxToolSteps, (settings as { maxToolSteps?: number }).maxToolSteps ?? 5)
        return { bot, api }
      })

    /** Asks `question` in `chatId`; waits for the answer and for the chat's inbox to settle. */
    const ask = (bot: { readonly id: string }, chatId: number, question: string) =>
      Effect.gen(function* () {
        const server = yield* TestServer
        assert.strictEqual(
          (yield* postUpdate(server.baseUrl, bot as never, textUpdate(chatId, question))).status,
          200
        )
        yield* eventually(() => server.telegram.sentTo(chatId).length > 0)
        yield* settled(server, bot.id)
        const requests = (yield* server.openai.requests).filter(
          (request) => request.messages.findLast((m) => m.role === "user")?.content === question
        )
        const calls = yield* server.sql<StoredCall>`
          SELECT t.step, t.name, t.status, t.is_error, t.result FROM tool_calls t
          JOIN messages m ON m.id = t.message_id
          WHERE m.text = ${question} ORDER BY t.step, t.position`.pipe(Effect.orDie)
        return { sent: server.telegram.sentTo(chatId).map((message) => message.text), requests, calls }
      })

    it.effect("two tool steps (built-in, then MCP), streamed: the answer is sent once, every step paid", () =>
      Effect.scoped(
        Effect.gen(function* () {
          const server = yield* TestServer
          const mcp = yield* FakeMcpServer.make()
          const { bot } = yield* toolBot("Two steps", mcp.url)
          const question = "what time is it, and where is order 42?"
          yield* server.openai.setReply((request) => {
            if (questionOf(request) !== question) return `reply to: ${questionOf(request)}`
            const results = toolResults(request)
            if (results.length === 0)
              return { content: null, toolCalls: [{ name: "current_time", arguments: {} }] }
            if (results.length === 1) {
              return { content: null, toolCalls: [{ name: "lookup_order", arguments: { number: "42" } }] }
            }
            return `Noon; ${results[1]!.content}`
          })
          const { sent, requests, calls } = yield* ask(bot, 97_001, question)

          assert.deepStrictEqual(sent, ["Noon; Order 42 has shipped and arrives on Friday."])
          assert.strictEqual(requests.length, 3)
          assert.isTrue(
            requests.every((request) => request.stream),
            "a private chat of a streaming bot"
          )
          assert.deepStrictEqual(requests[0]!.tools, [
            "current_time",
            "lookup_order",
            "broken_tool",
            "slow_tool"
          ])
          assert.match(toolResults(requests[1]!)[0]!.content, /"timeZone":"UTC"/)
          assert.deepStrictEqual(
            calls.map((call) => [call.step, call.name, call.status, call.is_error]),
            [
              [0, "current_time", "finished", false],
              [1, "lookup_order", "finished", false]
            ]
          )
          assert.deepStrictEqual(yield* mcp.toolCalls, [
            { name: "lookup_order", arguments: { number: "42" } }
          ])
          // The reply's tokens are the three requests' together.
          const [reply] = yield* server.sql<{ input_tokens: number }>`
            SELECT r.input_tokens FROM messages r JOIN messages q ON r.reply_to = q.id
            WHERE q.text = ${question}`.pipe(Effect.orDie)
          const firstOnly = Math.ceil(question.length / 4)
          assert.isAbove(reply!.input_tokens, 3 * firstOnly)
          // The transcript shows the reply's calls, in order, with arguments, result and duration.
          const api = yield* loggedIn(server.baseUrl)
          const chats = expectBody(yield* api.get(`/api/chats?botId=${bot.id}`), 200, page(ChatView))
          const transcript = expectBody(
            yield* api.get(`/api/chats/${chats.items[0]!.id}/messages`),
            200,
            page(MessageView)
          )
          const answer = transcript.items.find((message) => message.role === "assistant")!
          const question_ = transcript.items.find((message) => message.role === "user")!
          assert.isUndefined(question_.toolCalls, "a question has no calls of its own")
          assert.deepStrictEqual(
            answer.toolCalls?.map((call) => [
              call.step,
              call.name,
              call.arguments,
              call.status,
              call.isError
            ]),
            [
              [0, "current_time", "{}", "finished", false],
              [1, "lookup_order", '{"number":"42"}', "finished", false]
            ]
          )
          assert.strictEqual(answer.toolCalls?.[1]?.result, "Order 42 has shipped and arrives on Friday.")
          assert.isAtLeast(answer.toolCalls?.[1]?.durationMs ?? -1, 0)
          // The draft named the tool at work.
          assert.isTrue(
            server.telegram.drafts.some((draft) => draft.text === "Checking the time…"),
            "draft with the tool's title"
          )
        })
      )
    )

    it.effect(
      "parallel calls in one step, not streamed; a tool error and a timeout are told to the model",
      () =>
        Effect.scoped(
          Effect.gen(function* () {
            const server = yield* TestServer
            const mcp = yield* FakeMcpServer.make({ slowMillis: 5_000 })
            const { bot } = yield* toolBot("Parallel", mcp.url, { streaming: false })
            const question = "check everything at once"
            yield* server.openai.setReply((request) => {
              if (questionOf(request) !== question) return `reply to: ${questionOf(request)}`
              const results = toolResults(request)
              if (results.length === 0) {
                return {
                  content: null,
                  toolCalls: [
                    { name: "lookup_order", arguments: { number: "7" } },
                    { name: "broken_tool", arguments: {} },
                    { name: "slow_tool", arguments: {} }
                  ]
                }
              }
              return results.map((result) => result.content).join(" / ")
            })
            const { sent, requests, calls } = yield* ask(bot, 97_002, question)

            assert.isFalse(requests[0]!.stream)
            const [order, broken, slow] = toolResults(requests[1]!)
            assert.strictEqual(order!.content, "Order 7 has shipped and arrives on Friday.")
            assert.match(broken!.content, /^error: /)
            assert.match(slow!.content, /^error: .*timed out/)
            assert.strictEqual(sent.length, 1)
            assert.strictEqual(
              sent[0],
              requests[1]!.messages
                .filter((m) => m.role === "tool")
                .map((m) => m.content)
                .join(" / ")
            )
            assert.deepStrictEqual(
              calls.map((call) => [call.name, call.status, call.is_error]),
              [
                ["lookup_order", "finished", false],
                ["broken_tool", "finished", true],
                ["slow_tool", "finished", true]
              ]
            )
            // The ids the model gave come back on the results, in its order.
            assert.deepStrictEqual(
              toolResults(requests[1]!).map((result) => result.toolCallId),
              requests[1]!.messages.find((m) => m.role === "assistant")?.toolCalls?.map((call) => call.id)
            )
          })
        )
    )

    it.effect("out of steps: the model is asked once more with tool_choice none, and answers", () =>
      Effect.scoped(
        Effect.gen(function* () {
          const server = yield* TestServer
          const mcp = yield* FakeMcpServer.make()
          const { bot } = yield* toolBot("Clock loop", mcp.url, { maxToolSteps: 2 })
          const question = "time, forever"
          yield* server.openai.setReply((request) => {
            if (questionOf(request) !== question) return `reply to: ${questionOf(request)}`
            return request.toolChoice === "none"
              ? "I have checked the clock enough."
              : { content: null, toolCalls: [{ name: "current_time", arguments: {} }] }
          })
          const { sent, requests, calls } = yield* ask(bot, 97_003, question)
          assert.deepStrictEqual(
            requests.map((request) => request.toolChoice),
            ["auto", "auto", "none"]
          )
          assert.deepStrictEqual(sent, ["I have checked the clock enough."])
          assert.strictEqual(calls.length, 2)
        })
      )
    )

    it.effect("a provider that refuses tools: answered without them, and not offered them again", () =>
      Effect.scoped(
        Effect.gen(function* () {
          const server = yield* TestServer
          const mcp = yield* FakeMcpServer.make()
          const { bot } = yield* toolBot("No tools", mcp.url, { streaming: false })
          yield* server.openai.setRefuseTools(true)
          yield* server.openai.setReply((request) => `plain answer to: ${questionOf(request)}`)
          const first = yield* ask(bot, 97_004, "first question")
          assert.deepStrictEqual(first.sent, ["plain answer to: first question"])
          assert.deepStrictEqual(
            first.requests.map((request) => request.tools.length),
            [4, 0]
          )
          const second = yield* ask(bot, 97_005, "second question")
          assert.deepStrictEqual(second.sent, ["plain answer to: second question"])
          assert.deepStrictEqual(
            second.requests.map((request) => request.tools.length),
            [0]
          )
          yield* server.openai.setRefuseTools(false)
        })
      )
    )
  }
)
