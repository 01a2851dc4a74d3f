import { type BotTexts, englishTexts } from "./texts/botTexts.ts"

/** The commands every bot understands. */
export const BotCommand = ["start", "help", "new", "retry", "mode", "memory", "usage", "refresh"] as const
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

export interface MenuEntry {
  readonly command: BotCommand
  readonly description: string
}

/**
 * The command menu Telegram shows (setMyCommands), one line per command in
 * the reader's language; a command added above needs its `command.<name>`
 * text in the catalogue (texts/).
 */
export const commandMenu = (texts: BotTexts): ReadonlyArray<MenuEntry> =>
  // /refresh stays understood but out of the menu: /new says the same.
  BotCommand.filter((command) => command !== "refresh").map((command) => ({
    command,
    description: texts.text(`command.${command}`)
  }))

export const COMMAND_MENU: ReadonlyArray<MenuEntry> = commandMenu(englishTexts)
