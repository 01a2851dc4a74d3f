/**
 * The turn a tool runs in: which bot, chat and message it acts for. A tool
 * that needs them (a note about the sender, a photo sent to the chat, the
 * bot's knowledge bases) declares this service as a dependency
 * (`Tool.addDependency(ToolTurn)`), and the turn loop provides it for each
 * call, so a handler never reaches across bots or chats. A tool that uses a
 * model itself (search_knowledge embeds its query) tells the turn what that
 * cost with `spend`: it is counted with the reply's use, as the same spend is
 * when knowledge is injected.
 */
import type { Bot, Chat, Message } from "@botfleet/domain"
import { Context, type Effect } from "effect"
import type { Token } from "../ports/TelegramGateway.ts"

export class ToolTurn extends Context.Service<
  ToolTurn,
  {
    readonly bot: Bot
    readonly token: Token
    readonly chat: Chat
    /** The user's message this turn answers (its tgUserId is the sender; null for channel posts). */
    readonly incoming: Message
    /** Adds a tool's own model use (tokens and USD) to the reply's. */
    readonly spend: (spent: { readonly tokens: number; readonly costUsd: number }) => Effect.Effect<void>
  }
>()("@botfleet/application/ToolTurn") {}
