/**
 * Asking the model, streamed or not: the bot's provider and model, the
 * provider key's pace, the answer as the user sees it made (progress.ts), and
 * what the answer or the failure teaches the pacer. A failure that may pass is
 * `RetryLater`; one that will not (bad key, no quota, a request the model
 * refuses) comes back as `Failed` for the reply to say so.
 */
import { type Bot, type Chat, chatKey as chatKeyOf, type Message } from "@botfleet/domain"
import { Effect } from "effect"
import { spanFn } from "../../observability/spanFn.ts"
import type { ChatTurn, Completion, CompletionRequest, LlmError } from "../../ports/LanguageModel.ts"
import type { Token } from "../../ports/TelegramGateway.ts"
import { ProviderAccess } from "../../providers/ProviderAccess.ts"
import { classifyLlm, retryLater } from "../failures.ts"
import { ProviderPacing, providerKey } from "../providerPacing.ts"
import { makeProgress } from "./progress.ts"

/** What a tool-calling turn adds to a request (reply/tools.ts). */
export type ToolOffer = Pick<CompletionRequest, "tools" | "toolChoice">

export type Asked =
  | { readonly _tag: "Answered"; readonly answer: Completion }
  | { readonly _tag: "Failed"; readonly error: LlmError }

export const makeAsk = Effect.gen(function* () {
  const fn = yield* spanFn
  const providers = yield* ProviderAccess
  const pacing = yield* ProviderPacing
  const progress = yield* makeProgress

  /** One request to the model; the tool loop (tools.ts) calls it again with the tools' results. */
  const once = fn("Pipeline.askModel")(function* (
    bot: Bot,
    token: Token,
    chat: Chat,
    incoming: Message,
    turns: ReadonlyArray<ChatTurn>,
    offer: ToolOffer
  ) {
    // The bot's server, key, model and tuning (cached, no query per reply).
    const request = { ...(yield* providers.modelFor(bot)), messages: turns, ...offer }
    // The key's pace first: a limited key hands the chat back instead of calling into its 429s.
    const key = providerKey(request.endpoint?.providerId)
    const chatKey = chatKeyOf(bot.id, chat.telegramChatId)
    yield* pacing.admit(key, chatKey)
    return yield* progress.answer(bot, token, chat, incoming, request).pipe(
      Effect.tap((completion) => pacing.answered(key, completion.rateLimit)),
      Effect.catchIf(
        (error) => error.kind === "rate_limited",
        (error) =>
          Effect.flatMap(pacing.refused(key, chatKey, { id: bot.id, name: bot.name }, error), Effect.fail)
      )
    )
  })

  const ask = (
    bot: Bot,
    token: Token,
    chat: Chat,
    incoming: Message,
    turns: ReadonlyArray<ChatTurn>,
    offer: ToolOffer = {}
  ) =>
    once(bot, token, chat, incoming, turns, offer).pipe(
      Effect.map((answer): Asked => ({ _tag: "Answered", answer })),
      Effect.catchTag("LlmError", (error) =>
        classifyLlm(error) === "retryable"
          ? Effect.fail(retryLater(error))
          : Effect.succeed<Asked>({ _tag: "Failed", error })
      )
    )

  // The tool loop shows its tools at work through the same progress (one memory of refused drafts).
  return { ask, whileTools: progress.whileTools }
})
