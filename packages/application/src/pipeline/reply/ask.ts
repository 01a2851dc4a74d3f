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
import type { ChatTurn, Completion, LlmError } from "../../ports/LanguageModel.ts"
import type { Token } from "../../ports/TelegramGateway.ts"
import { ProviderAccess } from "../../providers/ProviderAccess.ts"
import { classifyLlm, retryLater } from "../failures.ts"
import { ProviderPacing, providerKey } from "../providerPacing.ts"
import { makeProgress } from "./progress.ts"

export type Asked =
  | { readonly _tag: "Answered"; readonly answer: Completion }
  | { readonly _tag: "Failed"; readonly error: LlmError }

export const makeAsk = Effect.gen(function* () {
  const fn = yield* spanFn
  const providers = yield* ProviderAccess
  const pacing = yield* ProviderPacing
  const progress = yield* makeProgress

  /** One request to the model; a tool-calling loop would call it again with the tools' results. */
  const once = fn("Pipeline.askModel")(function* (
    bot: Bot,
    token: Token,
    chat: Chat,
    incoming: Message,
    turns: ReadonlyArray<ChatTurn>
  ) {
    // The bot's server, key, model and tuning (cached, no query per reply).
    const request = { ...(yield* providers.modelFor(bot)), messages: turns }
    // The key's pace first: a limited key hands the chat back instead of calling into its 429s.
    const key = providerKey(request.endpoint?.providerId)
    const chatKey = chatKeyOf(bot.id, chat.telegramChatId)
    yield* pacing.admit(key, chatKey)
    return yield* progress(bot, token, chat, incoming, request).pipe(
      Effect.tap((completion) => pacing.answered(key, completion.rateLimit)),
      Effect.catchIf(
        (error) => error.kind === "rate_limited",
        (error) =>
          Effect.flatMap(pacing.refused(key, chatKey, { id: bot.id, name: bot.name }, error), Effect.fail)
      )
    )
  })

  return (bot: Bot, token: Token, chat: Chat, incoming: Message, turns: ReadonlyArray<ChatTurn>) =>
    once(bot, token, chat, incoming, turns).pipe(
      Effect.map((answer): Asked => ({ _tag: "Answered", answer })),
      Effect.catchTag("LlmError", (error) =>
        classifyLlm(error) === "retryable"
          ? Effect.fail(retryLater(error))
          : Effect.succeed<Asked>({ _tag: "Failed", error })
      )
    )
})
