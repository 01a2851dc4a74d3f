/**
 * Bots in groups and supergroups: when a message there is meant for the bot,
 * and how the model is told who said what. Pure: the planner asks, nothing here
 * does I/O.
 */
import { Schema } from "effect"
import { parseCommand } from "./commands.ts"

/**
 * mention: answer only a message that mentions `@<username>`, replies to one of
 * the bot's messages, or is a command for it; all: answer every message; off:
 * never answer in groups. Unanswered messages are still stored as context.
 */
export const GroupMode = Schema.Literals(["mention", "all", "off"])
export type GroupMode = typeof GroupMode.Type

export const DEFAULT_GROUP_MODE: GroupMode = "mention"

export const isGroupChat = (chatType: string): boolean => chatType === "group" || chatType === "supergroup"

const escapeRegExp = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")

/** `@username` anywhere in the text, case-insensitive, not as the start of a longer name. */
export const mentions = (text: string, username: string): boolean =>
  username !== "" && new RegExp(`@${escapeRegExp(username)}(?![A-Za-z0-9_])`, "i").test(text)

/**
 * A command meant for this bot: `/cmd@<username>`, or one of the bot's own
 * commands without a name. A bare command the bot does not know is taken to
 * be another bot's and left alone.
 */
export const isCommandForBot = (text: string, username: string): boolean => {
  const command = parseCommand(text, username)
  if (command === undefined) return false
  return command !== "unknown" || mentions(text, username)
}

/** The part of a group message that says whom it is for. */
export interface GroupAddress {
  readonly text: string
  /** The Telegram user whose message this one replies to; null when it replies to none. */
  readonly replyToUserId: number | null
  /** Posted by a channel (a linked channel's post, or a channel writing in the group). */
  readonly fromChannel: boolean
}

/** Why the bot stays silent on a group message; null when it answers. */
export const groupSilence = (
  bot: { readonly groupMode: GroupMode; readonly username: string; readonly telegramBotId: number },
  message: GroupAddress
): string | null => {
  if (bot.groupMode === "off") return "groups are off for this bot"
  if (message.fromChannel) return "a channel's post"
  // Bare commands of other bots stay unanswered in every mode.
  const command = parseCommand(message.text, bot.username)
  if (command === "unknown" && !mentions(message.text, bot.username)) return "a command for another bot"
  if (bot.groupMode === "all") return null
  if (
    mentions(message.text, bot.username) ||
    message.replyToUserId === bot.telegramBotId ||
    isCommandForBot(message.text, bot.username)
  ) {
    return null
  }
  return "not addressed to the bot"
}

/** A user's words as the model reads them: in groups, with the speaker's name in front. */
export const speakerText = (chatType: string, senderName: string | null, text: string): string =>
  isGroupChat(chatType) && senderName !== null && senderName !== "" ? `${senderName}: ${text}` : text
