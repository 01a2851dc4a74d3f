/** The commands every bot understands. */
export const BotCommand = ["start", "help", "refresh", "usage", "memory"] as const
export type BotCommand = (typeof BotCommand)[number]

/**
 * Reads `/start`, `/help@my_bot` or `/refresh now` at the start of a message.
 * A command addressed to another bot (`/help@other_bot`) is not ours.
 */
export const parseCommand = (text: string, botUsername: string): BotCommand | "unknown" | undefined => {
  const match = /^\/([A-Za-z0-9_]{1,32})(?:@([A-Za-z0-9_]+))?(?:\s|$)/.exec(text.trim())
  if (!match) return undefined
  const [, name, target] = match
  if (target !== undefined && target.toLowerCase() !== botUsername.toLowerCase()) return undefined
  const command = name!.toLowerCase()
  return (BotCommand as ReadonlyArray<string>).includes(command) ? (command as BotCommand) : "unknown"
}

/**
 * conversations: the command menu Telegram shows (setMyCommands),
 * one line per command; a command added above must get its description here.
 */
const descriptions: Record<BotCommand, string> = {
  start: "Say hello and see what I can do",
  help: "How to talk to me",
  refresh: "Start a new conversation",
  usage: "See how much of your limits you have used",
  memory: "See and delete what I remember about you"
}
export const COMMAND_MENU: ReadonlyArray<{ readonly command: BotCommand; readonly description: string }> =
  BotCommand.map((command) => ({ command, description: descriptions[command] }))
