/**
 * The turn loop on the memory twins: model → tool calls → results → model,
 * every step's use in the reply, and what a rerun after a crash does with
 * the calls it finds stored (finished: reused; running: made again only when
 * the tool is idempotent, else the model is told the outcome is unknown).
 */
import { LanguageModelMemory, McpConnectorMemory, TelegramGatewayMemory } from "@botfleet/adapters"
import { type ChatTurn, McpServerService, ToolCallRepository, UNKNOWN_OUTCOME } from "@botfleet/application"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Redacted } from "effect"
import { addBot, harness, messagesOf, processUpdate, textUpdate } from "../harness.ts"

const { LanguageModelMemoryControl } = LanguageModelMemory
const { McpConnectorMemoryControl } = McpConnectorMemory
const { TelegramMemoryLog } = TelegramGatewayMemory

const modelRequests = LanguageModelMemoryControl.use((control) => control.requests)
const mcpCalls = McpConnectorMemoryControl.use((control) => control.calls)
const sent = TelegramMemoryLog.use((log) => Effect.map(log.sentMessages, (all) => all.map((m) => m.text)))

const toolTurns = (messages: ReadonlyArray<ChatTurn>) => messages.filter((turn) => turn.role === "tool")

/** An MCP server in memory with `lookup_order` (idempotent or not) whose calls die `dies` times first. */
const mcpServer = (options: {
  readonly idempotent: boolean
  readonly dies?: number
  readonly afterCall?: Effect.Effect<void>
}) =>
  Effect.gen(function* () {
    let dies = options.dies ?? 0
    yield* McpConnectorMemoryControl.use((control) =>
      control.setTools([
        {
          tool: {
            name: "lookup_order",
            title: "Looking up your order",
            description: "Finds an order",
            inputSchema: { type: "object", properties: { number: { type: "string" } } },
            ...(options.idempotent ? { idempotent: true } : {})
          },
          handle: (args) =>
            Effect.suspend(() => {
              if (dies > 0) {
                dies -= 1
                return Effect.die(new Error("the process died mid-call"))
              }
              return Effect.as(options.afterCall ?? Effect.void, {
                isError: false,
                text: `order ${String(args.number)} has shipped`
              })
            })
        }
      ])
    )
    const service = yield* McpServerService
    return yield* service.create({
      name: "shop",
      url: "https://mcp.example.com/mcp",
      headers: Redacted.make({}),
      allowedTools: ["lookup_order"]
    })
  })

/** Calls `lookup_order` until a tool result is in the conversation, then answers with it. */
const orderThenAnswer = (request: LanguageModelMemory.MemoryRequest) => {
  const results = toolTurns(request.messages)
  return results.length === 0
    ? { text: "", toolCalls: [{ id: "call_1", name: "lookup_order", arguments: '{"number":"42"}' }] }
    : `answer after: ${results.map((turn) => turn.content).join(" | ")}`
}

describe("the turn loop", () => {
  it.effect(
    "two steps (a built-in, then an MCP tool): results go back, the answer is sent once, use summed",
    () =>
      Effect.gen(function* () {
        const server = yield* mcpServer({ idempotent: false })
        const { bot } = yield* addBot({ mcpServerIds: [server.id], tools: ["current_time"] })
        yield* LanguageModelMemoryControl.use((control) =>
          control.setReply((request) => {
            const results = toolTurns(request.messages)
            if (results.length === 0) {
              return { text: "", toolCalls: [{ id: "t1", name: "current_time", arguments: "{}" }] }
            }
            if (results.length === 1) {
              return {
                text: "",
                toolCalls: [{ id: "o1", name: "lookup_order", arguments: '{"number":"42"}' }]
              }
            }
            return "It is now, and order 42 has shipped."
          })
        )
        yield* processUpdate(bot, textUpdate(1, "time and my order?"))

        assert.deepStrictEqual(yield* sent, ["It is now, and order 42 has shipped."])
        const requests = yield* modelRequests
        assert.strictEqual(requests.length, 3)
        assert.deepStrictEqual(
          requests[0]!.tools?.map((tool) => tool.name),
          ["current_time", "lookup_order"]
        )
        assert.match(toolTurns(requests[1]!.messages)[0]!.content, /"timeZone":"UTC"/)
        assert.strictEqual(toolTurns(requests[2]!.messages)[1]!.content, "order 42 has shipped")
        assert.deepStrictEqual(yield* mcpCalls, [{ name: "lookup_order", args: { number: "42" } }])

        const [question, reply] = yield* messagesOf(bot)
        // Every request's words count: the reply holds the three requests' tokens.
        const words = (text: string) => text.split(/\s+/).filter((word) => word !== "").length
        const inputs = requests.reduce(
          (sum, request) => sum + request.messages.reduce((n, turn) => n + words(turn.content), 0),
          0
        )
        assert.strictEqual(reply?.inputTokens, inputs)
        const stored = yield* ToolCallRepository.use((repository) => repository.forMessages([question!.id]))
        assert.deepStrictEqual(
          stored.map((call) => [call.step, call.name, call.status, call.isError]),
          [
            [0, "current_time", "finished", false],
            [1, "lookup_order", "finished", false]
          ]
        )
        // The draft named the tools at work.
        const drafts = yield* TelegramMemoryLog.use((log) => log.drafts)
        assert.isTrue(drafts.some((draft) => draft.text === "Checking the time…"))
        assert.isTrue(drafts.some((draft) => draft.text === "Looking up your order…"))
      }).pipe(Effect.provide(harness()))
  )

  it.effect("a rerun reuses a finished call: the tool is not called again, its step not asked again", () =>
    Effect.gen(function* () {
      const model = yield* LanguageModelMemoryControl
      // The call finishes, then the next model request fails for now: the update is retried later.
      const server = yield* mcpServer({ idempotent: true, afterCall: model.failNext("unavailable") })
      const { bot } = yield* addBot({ mcpServerIds: [server.id] })
      yield* model.setReply(orderThenAnswer)
      const failed = yield* Effect.flip(processUpdate(bot, textUpdate(1, "my order?")))
      assert.strictEqual(failed._tag, "RetryLater")
      assert.deepStrictEqual(yield* sent, [])

      yield* processUpdate(bot, textUpdate(1, "my order?"))
      assert.strictEqual((yield* mcpCalls).length, 1, "the finished call was not made again")
      assert.deepStrictEqual(yield* sent, ["answer after: order 42 has shipped"])
      // Step 0, step 1 (failed), step 1 again: step 0 was replayed from storage.
      assert.strictEqual((yield* modelRequests).length, 3)
    }).pipe(Effect.provide(harness()))
  )

  it.effect("a call left running by a crash: an idempotent tool is made again", () =>
    Effect.gen(function* () {
      const server = yield* mcpServer({ idempotent: true, dies: 1 })
      const { bot } = yield* addBot({ mcpServerIds: [server.id] })
      yield* LanguageModelMemoryControl.use((control) => control.setReply(orderThenAnswer))
      const crashed = yield* Effect.exit(processUpdate(bot, textUpdate(1, "my order?")))
      assert.isTrue(crashed._tag === "Failure")
      assert.deepStrictEqual(yield* sent, [])

      yield* processUpdate(bot, textUpdate(1, "my order?"))
      assert.strictEqual((yield* mcpCalls).length, 2, "made again on the rerun")
      assert.deepStrictEqual(yield* sent, ["answer after: order 42 has shipped"])
      // The step that asked for it was replayed from storage, not asked again.
      assert.strictEqual((yield* modelRequests).length, 2)
    }).pipe(Effect.provide(harness()))
  )

  it.effect(
    "a call left running by a crash: a non-idempotent tool is not made again; the model is told",
    () =>
      Effect.gen(function* () {
        const server = yield* mcpServer({ idempotent: false, dies: 1 })
        const { bot } = yield* addBot({ mcpServerIds: [server.id] })
        yield* LanguageModelMemoryControl.use((control) => control.setReply(orderThenAnswer))
        const crashed = yield* Effect.exit(processUpdate(bot, textUpdate(1, "my order?")))
        assert.isTrue(crashed._tag === "Failure")

        yield* processUpdate(bot, textUpdate(1, "my order?"))
        assert.strictEqual((yield* mcpCalls).length, 1, "never made twice")
        assert.deepStrictEqual(yield* sent, [`answer after: error: ${UNKNOWN_OUTCOME}`])
        const [question] = yield* messagesOf(bot)
        const stored = yield* ToolCallRepository.use((repository) => repository.forMessages([question!.id]))
        assert.strictEqual(stored[0]?.status, "finished")
        assert.strictEqual(stored[0]?.result, UNKNOWN_OUTCOME)
      }).pipe(Effect.provide(harness()))
  )

  it.effect("out of steps: asked once more with tool_choice none, and that answer is the reply", () =>
    Effect.gen(function* () {
      const { bot } = yield* addBot({ tools: ["current_time"], maxToolSteps: 2 })
      yield* LanguageModelMemoryControl.use((control) =>
        control.setReply((request) =>
          request.toolChoice === "none"
            ? "enough clocks"
            : { text: "", toolCalls: [{ id: "", name: "current_time", arguments: "{}" }] }
        )
      )
      yield* processUpdate(bot, textUpdate(1, "time?"))
      const requests = yield* modelRequests
      assert.deepStrictEqual(
        requests.map((request) => request.toolChoice),
        ["auto", "auto", "none"]
      )
      assert.deepStrictEqual(yield* sent, ["enough clocks"])
    }).pipe(Effect.provide(harness()))
  )

  it.effect("tools off (maxToolSteps 0) or none switched on: no tools offered, nothing stored", () =>
    Effect.gen(function* () {
      const { bot } = yield* addBot({ tools: ["current_time"], maxToolSteps: 0 })
      yield* processUpdate(bot, textUpdate(1, "hi"))
      const requests = yield* modelRequests
      assert.strictEqual(requests.length, 1)
      assert.isUndefined(requests[0]!.tools)
    }).pipe(Effect.provide(harness()))
  )

  it.effect("a follow-up question reads the earlier turn's tool calls and results", () =>
    Effect.gen(function* () {
      const server = yield* mcpServer({ idempotent: false })
      const { bot } = yield* addBot({ mcpServerIds: [server.id] })
      yield* LanguageModelMemoryControl.use((control) =>
        control.setReply((request) =>
          request.messages.at(-1)?.content.endsWith("my order?") === true
            ? orderThenAnswer(request)
            : toolTurns(request.messages).length > 0
              ? orderThenAnswer(request)
              : "plain"
        )
      )
      yield* processUpdate(bot, textUpdate(1, "my order?"))
      yield* processUpdate(bot, textUpdate(2, "and when?"))
      const last = (yield* modelRequests).at(-1)!
      assert.deepStrictEqual(
        last.messages.map((turn) => turn.role),
        ["user", "assistant", "tool", "assistant", "user"]
      )
      assert.strictEqual(last.messages[1]!.toolCalls?.[0]?.name, "lookup_order")
      assert.strictEqual(last.messages[2]!.content, "order 42 has shipped")
    }).pipe(Effect.provide(harness()))
  )
})
