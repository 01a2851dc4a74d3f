/**
 * The turn loop: the model is asked with the bot's tools; while it asks for
 * tool calls, they run (in parallel within a step) and their results go back
 * to it, until it answers in text or `maxToolSteps` requests have called
 * tools, after which it is asked once more and must answer (`tool_choice:
 * none`). A bot offered no tools is asked once, as before: no query, nothing
 * stored.
 *
 * Durable: a step's calls are stored (running) before any runs, and each is
 * stored finished with its whole result after. A rerun of the same message
 * (after a crash) replays the stored steps without asking the model again:
 * a finished call's stored result is used; a call left running is made again
 * only if its tool is idempotent; otherwise the model is told its outcome is
 * unknown and decides. Only the step after the last stored one, and the
 * final answer, are asked again (a model request has no side effect).
 *
 * What the model reads of a result is cut to MODEL_RESULT_MAX_CHARS; the
 * whole result is stored. Every step's tokens and cost add to the reply's;
 * a turn that fails after some steps returns what they cost, so the sender's
 * budget counts them (they were paid for). What a tool's own model use cost
 * (search_knowledge's query embedding, told through ToolTurn.spend) comes
 * back apart, for the ledger: the reply's stored tokens are the chat model's.
 */
import type { Bot, Chat, Message } from "@botfleet/domain"
import { Clock, Duration, Effect } from "effect"
import { spanFn } from "../../observability/spanFn.ts"
import type { ChatTurn, Completion, LlmError, ToolCall } from "../../ports/LanguageModel.ts"
import type { Token } from "../../ports/TelegramGateway.ts"
import { type StepUsage, type StoredToolCall, ToolCallRepository } from "../../ports/ToolCalls.ts"
import { makeOfferedTools, type OfferedTool, type ToolOutcome } from "../../tools/offeredTools.ts"
import { ToolTurn } from "../../tools/ToolTurn.ts"
import { type Asked, makeAsk } from "./ask.ts"
import { addSpent, NOTHING_SPENT, type Spent } from "./history.ts"

/** About 2,000 tokens per result: enough to answer from, small next to a model's context. */
export const MODEL_RESULT_MAX_CHARS = 8_000
/** Calls of one step run at most this many at a time. */
const CALLS_AT_ONCE = 4

export const UNKNOWN_OUTCOME =
  "the earlier call's outcome is unknown (the server restarted); decide whether to try again"

/** What the model reads of an outcome: the text, cut, marked when it is an error. */
export const forModel = (outcome: ToolOutcome): string => {
  const text =
    outcome.text.length > MODEL_RESULT_MAX_CHARS
      ? `${outcome.text.slice(0, MODEL_RESULT_MAX_CHARS)}… [cut: ${outcome.text.length} characters in all]`
      : outcome.text
  return outcome.isError ? `error: ${text}` : text
}

/** Earlier replies' tool calls as the turns the model made and read, step by step. */
export const toolTurnsOf = (calls: ReadonlyArray<StoredToolCall>): Array<ChatTurn> => {
  const turns: Array<ChatTurn> = []
  const steps = [...new Set(calls.map((call) => call.step))]
  for (const step of steps) {
    const ofStep = calls.filter((call) => call.step === step)
    turns.push({
      role: "assistant",
      content: "",
      toolCalls: ofStep.map((call) => ({ id: call.callId, name: call.name, arguments: call.arguments }))
    })
    for (const call of ofStep) {
      turns.push({
        role: "tool",
        toolCallId: call.callId,
        content: forModel(
          call.status === "finished"
            ? { text: call.result ?? "", isError: call.isError }
            : { text: UNKNOWN_OUTCOME, isError: true }
        )
      })
    }
  }
  return turns
}

/** The arguments the model wrote, as an object; undefined when they are not one. */
const parseArguments = (text: string): Record<string, unknown> | undefined => {
  if (text.trim() === "") return {}
  try {
    const parsed: unknown = JSON.parse(text)
    return typeof parsed === "object" && parsed !== null && !Array.isArray(parsed)
      ? (parsed as Record<string, unknown>)
      : undefined
  } catch {
    return undefined
  }
}

/** Ids as the model gave them, made unique within the step (some servers send none). */
const withIds = (step: number, calls: ReadonlyArray<ToolCall>): ReadonlyArray<ToolCall> => {
  const seen = new Set<string>()
  return calls.map((call, index) => {
    const id = call.id === "" || seen.has(call.id) ? `call_${step}_${index}` : call.id
    seen.add(id)
    return id === call.id ? call : { ...call, id }
  })
}

const usageOf = (answer: Completion): StepUsage => ({
  model: answer.model,
  inputTokens: answer.inputTokens,
  outputTokens: answer.outputTokens,
  costUsd: answer.costUsd
})

const NO_STEPS = { inputTokens: 0, outputTokens: 0, costUsd: 0 }
type StepsSpent = typeof NO_STEPS

/**
 * How a turn ended. `toolsSpent`: the tools' own model use in this run (not
 * in the answer's tokens). A failure carries `stepsSpent`, what the tool
 * steps before it cost (those replayed from the store included).
 */
export type Turned =
  | { readonly _tag: "Answered"; readonly answer: Completion; readonly toolsSpent: Spent }
  | {
      readonly _tag: "Failed"
      readonly error: LlmError
      readonly stepsSpent: Spent
      readonly toolsSpent: Spent
    }

/** What the stored steps of a reply cost, each step once (its calls share its usage). */
export const storedStepsSpent = (calls: ReadonlyArray<StoredToolCall>): Spent => {
  const steps = new Map(calls.map((call) => [call.step, call.usage]))
  let spent = NOTHING_SPENT
  for (const usage of steps.values()) {
    spent = addSpent(spent, { tokens: usage.inputTokens + usage.outputTokens, costUsd: usage.costUsd })
  }
  return spent
}

/** The final answer with every step's use added; its own tool calls (if any) are not the reply's. */
const withSpent = (answer: Completion, spent: StepsSpent): Completion => {
  const summed: { -readonly [K in keyof Completion]: Completion[K] } = {
    ...answer,
    inputTokens: answer.inputTokens + spent.inputTokens,
    outputTokens: answer.outputTokens + spent.outputTokens,
    costUsd: answer.costUsd + spent.costUsd
  }
  delete summed.toolCalls
  return summed
}

export const makeTurn = Effect.gen(function* () {
  const fn = yield* spanFn
  const { ask, whileTools } = yield* makeAsk
  const offered = yield* makeOfferedTools
  const store = yield* ToolCallRepository

  const now = Effect.map(Clock.currentTimeMillis, (millis) => new Date(millis))

  /** Runs one call: its arguments parsed, the turn provided, the tool's timeout applied. */
  const run = (tool: OfferedTool | undefined, call: ToolCall, turn: ToolTurn["Service"]) => {
    if (tool === undefined) {
      return Effect.succeed<ToolOutcome>({
        text: `there is no tool named ${call.name.slice(0, 64)}`,
        isError: true
      })
    }
    const args = parseArguments(call.arguments)
    if (args === undefined) {
      return Effect.succeed<ToolOutcome>({ text: "the arguments are not a JSON object", isError: true })
    }
    return tool.run(args).pipe(
      Effect.provideService(ToolTurn, turn),
      Effect.timeoutOption(tool.timeout),
      Effect.map((outcome) =>
        outcome._tag === "Some"
          ? outcome.value
          : {
              text: `the tool timed out after ${Duration.toSeconds(tool.timeout)} seconds`,
              isError: true
            }
      ),
      Effect.withSpan("Tool.call", { attributes: { "tool.name": call.name } })
    )
  }

  /** A call's outcome: stored, made again, or made now; stored finished either way. */
  const resolve = (
    incoming: Message,
    step: number,
    call: ToolCall,
    earlier: StoredToolCall | undefined,
    tool: OfferedTool | undefined,
    turn: ToolTurn["Service"]
  ) =>
    Effect.gen(function* () {
      if (earlier?.status === "finished") {
        return { text: earlier.result ?? "", isError: earlier.isError } satisfies ToolOutcome
      }
      const outcome: ToolOutcome =
        earlier !== undefined && tool?.idempotent !== true
          ? { text: UNKNOWN_OUTCOME, isError: true }
          : yield* run(tool, call, turn)
      yield* store.finish(
        { messageId: incoming.id, step, callId: call.id },
        { result: outcome.text, isError: outcome.isError, at: yield* now }
      )
      return outcome
    })

  return fn("Pipeline.turn")(function* (
    bot: Bot,
    token: Token,
    chat: Chat,
    incoming: Message,
    turns: ReadonlyArray<ChatTurn>
  ) {
    const tools = yield* offered.forBot(bot)
    if (tools.length === 0) {
      const asked = yield* ask(bot, token, chat, incoming, turns)
      return asked._tag === "Answered"
        ? ({ ...asked, toolsSpent: NOTHING_SPENT } satisfies Turned)
        : ({ ...asked, stepsSpent: NOTHING_SPENT, toolsSpent: NOTHING_SPENT } satisfies Turned)
    }
    const byName = new Map(tools.map((tool) => [tool.definition.name, tool]))
    const definitions = tools.map((tool) => tool.definition)
    const stored = yield* store.forMessages([incoming.id])
    let toolsSpent = NOTHING_SPENT
    const turn = ToolTurn.of({
      bot,
      token,
      chat,
      incoming,
      spend: (used) =>
        Effect.sync(() => {
          toolsSpent = addSpent(toolsSpent, used)
        })
    })
    const messages: Array<ChatTurn> = [...turns]
    let spent = NO_STEPS
    const ended = (asked: Asked): Turned =>
      asked._tag === "Answered"
        ? { _tag: "Answered", answer: withSpent(asked.answer, spent), toolsSpent }
        : {
            _tag: "Failed",
            error: asked.error,
            stepsSpent: { tokens: spent.inputTokens + spent.outputTokens, costUsd: spent.costUsd },
            toolsSpent
          }

    for (let step = 0; step < bot.maxToolSteps; step++) {
      const earlier = stored.filter((call) => call.step === step)
      let calls: ReadonlyArray<ToolCall>
      let usage: StepUsage
      let text = ""
      if (earlier.length > 0) {
        // Asked before a restart: replayed from what was stored, not asked again.
        calls = earlier.map((call) => ({ id: call.callId, name: call.name, arguments: call.arguments }))
        usage = earlier[0]!.usage
      } else {
        // A copy: the request is the conversation as it is now, not as it grows.
        const asked: Asked = yield* ask(bot, token, chat, incoming, messages.slice(), {
          tools: definitions,
          toolChoice: "auto"
        })
        if (asked._tag === "Failed") return ended(asked)
        const answer = asked.answer
        if (answer.toolCalls === undefined || answer.toolCalls.length === 0) return ended(asked)
        calls = withIds(step, answer.toolCalls)
        usage = usageOf(answer)
        text = answer.text
        const startedAt = yield* now
        yield* store.start(
          calls.map((call, position) => ({
            messageId: incoming.id,
            step,
            callId: call.id,
            position,
            name: call.name,
            tool: byName.get(call.name)?.tool ?? call.name,
            mcpServerId: byName.get(call.name)?.mcpServerId ?? null,
            arguments: call.arguments,
            status: "running",
            result: null,
            isError: false,
            startedAt,
            finishedAt: null,
            usage
          }))
        )
      }
      spent = {
        inputTokens: spent.inputTokens + usage.inputTokens,
        outputTokens: spent.outputTokens + usage.outputTokens,
        costUsd: spent.costUsd + usage.costUsd
      }
      messages.push({ role: "assistant", content: text, toolCalls: calls })
      const title = [...new Set(calls.map((call) => byName.get(call.name)?.title ?? call.name))].join(", ")
      const outcomes = yield* whileTools(
        bot,
        token,
        chat,
        incoming,
        title,
        Effect.forEach(
          calls,
          (call) =>
            resolve(
              incoming,
              step,
              call,
              earlier.find((stored) => stored.callId === call.id),
              byName.get(call.name),
              turn
            ),
          { concurrency: CALLS_AT_ONCE }
        )
      )
      calls.forEach((call, index) => {
        messages.push({ role: "tool", toolCallId: call.id, content: forModel(outcomes[index]!) })
      })
    }

    // Out of steps: asked once more, the tools still described but not to be called.
    return ended(yield* ask(bot, token, chat, incoming, messages, { tools: definitions, toolChoice: "none" }))
  })
})
