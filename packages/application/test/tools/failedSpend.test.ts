/**
 * A reply that fails after tool steps, on the memory twins: the steps were
 * paid for, so their tokens and cost stay in the sender's and the bot's use
 * (what the limits read), counted once however often the message is run.
 * Two ways to fail: the model refuses for good on step 2 (a failed reply at
 * once), or it keeps timing out until the worker gives up.
 */
import { LanguageModelMemory, McpConnectorMemory, TelegramGatewayMemory } from "@botfleet/adapters"
import {
  GenerateReply,
  McpServerService,
  type StoredToolCall,
  ToolCallRepository,
  UsageLedger
} from "@botfleet/application"
import type { Bot, BotLimits } from "@botfleet/domain"
import { assert, describe, it } from "@effect/vitest"
import { Clock, Effect, Option, Redacted } from "effect"
import { addBot, CHAT_ID, chatOf, harness, messagesOf, processUpdate, textUpdate } from "../harness.ts"

const { LanguageModelMemoryControl } = LanguageModelMemory
const { McpConnectorMemoryControl } = McpConnectorMemory
const { TelegramMemoryLog } = TelegramGatewayMemory

const sent = TelegramMemoryLog.use((log) => Effect.map(log.sentMessages, (all) => all.map((m) => m.text)))

/** `lookup_order` on an MCP server in memory; once it has answered, the model fails `failure`. */
const shopWhoseModelFailsAfterTheCall = (failure: "bad_request" | "timeout", times: number) =>
  Effect.gen(function* () {
    const model = yield* LanguageModelMemoryControl
    yield* McpConnectorMemoryControl.use((control) =>
      control.setTools([
        {
          tool: {
            name: "lookup_order",
            title: "Looking up your order",
            description: "Finds an order",
            inputSchema: { type: "object", properties: { number: { type: "string" } } },
            idempotent: true
          },
          handle: () => Effect.as(model.failNext(failure, times), { isError: false, text: "shipped" })
        }
      ])
    )
    yield* model.setReply((request) =>
      request.messages.some((turn) => turn.role === "tool")
        ? "it has shipped"
        : { text: "", toolCalls: [{ id: "call_1", name: "lookup_order", arguments: '{"number":"42"}' }] }
    )
    return yield* (yield* McpServerService).create({
      name: "shop",
      url: "https://mcp.example.com/mcp",
      headers: Redacted.make({}),
      allowedTools: ["lookup_order"]
    })
  })

/** What step 1 cost, as stored with its call. */
const stepOne = (bot: Bot) =>
  Effect.gen(function* () {
    const [question] = yield* messagesOf(bot)
    const calls: ReadonlyArray<StoredToolCall> = yield* ToolCallRepository.use((repository) =>
      repository.forMessages([question!.id])
    )
    assert.lengthOf(calls, 1)
    const { usage } = calls[0]!
    assert.isAbove(usage.inputTokens, 0)
    assert.isAbove(usage.costUsd, 0)
    return { tokens: usage.inputTokens + usage.outputTokens, costUsd: usage.costUsd }
  })

const usageNow = (bot: Bot) =>
  Effect.gen(function* () {
    const at = new Date(yield* Clock.currentTimeMillis)
    return yield* (yield* UsageLedger).usage(bot.id, CHAT_ID, at)
  })

describe("spend of a reply that fails after tool steps", () => {
  for (const limits of [{}, { userTokensPerDay: 1 }] satisfies ReadonlyArray<Partial<BotLimits>>) {
    const limited = "userTokensPerDay" in limits
    it.effect(
      `the model refuses on step 2 (${limited ? "with" : "without"} limits): step 1's use is in the ledger, once`,
      () =>
        Effect.gen(function* () {
          const server = yield* shopWhoseModelFailsAfterTheCall("bad_request", 1)
          const { bot } = yield* addBot({ streaming: false, mcpServerIds: [server.id], limits })
          yield* processUpdate(bot, textUpdate(1, "my order?"))

          const [, reply] = yield* messagesOf(bot)
          assert.strictEqual(reply?.status, "failed")
          const step = yield* stepOne(bot)
          const usage = yield* usageNow(bot)
          assert.strictEqual(usage.userTokensToday, step.tokens)
          assert.closeTo(usage.userUsdThisMonth, step.costUsd, 1e-12)
          assert.closeTo(usage.botUsdThisMonth, step.costUsd, 1e-12)

          // The same update again (a redelivery): the stored failed reply stands, nothing counted twice.
          yield* processUpdate(bot, textUpdate(1, "my order?"))
          assert.strictEqual((yield* usageNow(bot)).userTokensToday, step.tokens)
          assert.closeTo((yield* usageNow(bot)).botUsdThisMonth, step.costUsd, 1e-12)

          if (limited) {
            // The per-user budget check reads those tokens: the next question is over the limit.
            const asked = (yield* LanguageModelMemoryControl.use((control) => control.requests)).length
            yield* processUpdate(bot, textUpdate(2, "and now?"))
            assert.strictEqual(
              (yield* LanguageModelMemoryControl.use((control) => control.requests)).length,
              asked,
              "the model is not asked over the limit"
            )
            assert.include((yield* sent).at(-1) ?? "", "limit")
          }
        }).pipe(Effect.provide(harness()))
    )
  }

  it.effect("the model times out on step 2 until the worker gives up: step 1's use is counted once", () =>
    Effect.gen(function* () {
      const server = yield* shopWhoseModelFailsAfterTheCall("timeout", Number.POSITIVE_INFINITY)
      const { bot } = yield* addBot({
        streaming: false,
        mcpServerIds: [server.id],
        limits: { userTokensPerDay: 1 }
      })
      const first = yield* Effect.flip(processUpdate(bot, textUpdate(1, "my order?")))
      assert.strictEqual(first._tag, "RetryLater")
      // Retried: step 1 is replayed from the store, the model times out again.
      assert.strictEqual(
        (yield* Effect.flip(processUpdate(bot, textUpdate(1, "my order?"))))._tag,
        "RetryLater"
      )
      assert.strictEqual(
        (yield* usageNow(bot)).userTokensToday,
        0,
        "nothing settled while it may still answer"
      )

      const [question] = yield* messagesOf(bot)
      const chat = Option.getOrThrow(yield* chatOf(bot))
      const generate = yield* GenerateReply
      const giveUp = generate.saveFailed(
        bot,
        chat,
        question!,
        "model timed out",
        "model timed out",
        "model_timeout"
      )
      yield* giveUp
      const step = yield* stepOne(bot)
      assert.strictEqual((yield* usageNow(bot)).userTokensToday, step.tokens)
      assert.closeTo((yield* usageNow(bot)).botUsdThisMonth, step.costUsd, 1e-12)
      // Giving up is safe to repeat (a crash before the inbox marks it done): counted once.
      yield* giveUp
      assert.strictEqual((yield* usageNow(bot)).userTokensToday, step.tokens)
    }).pipe(Effect.provide(harness()))
  )

  it.effect("giving up without tool steps counts nothing, as before", () =>
    Effect.gen(function* () {
      const { bot } = yield* addBot({ streaming: false })
      yield* LanguageModelMemoryControl.use((control) =>
        control.failNext("timeout", Number.POSITIVE_INFINITY)
      )
      assert.strictEqual((yield* Effect.flip(processUpdate(bot, textUpdate(1, "hi"))))._tag, "RetryLater")
      const [question] = yield* messagesOf(bot)
      const generate = yield* GenerateReply
      yield* generate.saveFailed(
        bot,
        Option.getOrThrow(yield* chatOf(bot)),
        question!,
        "timed out",
        "timed out",
        "model_timeout"
      )
      const usage = yield* usageNow(bot)
      assert.strictEqual(usage.userTokensToday, 0)
      assert.strictEqual(usage.userMessagesToday, 0)
    }).pipe(Effect.provide(harness()))
  )
})
