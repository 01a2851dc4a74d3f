/**
 * The turn a tool runs in: which bot, chat and message it acts for. A tool
 * that needs them (a note about the sender, a photo sent to the chat, the
 * bot's knowledge bases) declares this service as a dependency
 * (`Tool.addDependency(ToolTurn)`), and the turn loop provides it for each
 * call, so a handler never reaches across bots or chats.
 */
import type { Bot, Chat, Message } from "@botfleet/domain"
import { Context } from "effect"
import type { Token } from "../ports/TelegramGateway.ts"

export class ToolTurn extends Context.Service<
  ToolTurn,
  {
    readonly bot: Bot
    readonly token: Token
    readonly chat: Chat
    /** The user's message this turn answers (its tgUserId is the sender; null for channel posts). */
    readonly incoming: Message
  }
>()("@botfleet/application/ToolTurn") {}
