/**
 * Which text a user gets, decided once: the user's language (their Telegram
 * `language_code`, else the bot's `language`), then the first of
 *
 *   1. the admin's override for that language and key (`texts`);
 *   2. the bot's own text (startMessage, helpMessage, errorMessage,
 *      deniedMessage, limitMessage) when the user's language is the bot's
 *      language and the admin changed it from the shipped English default
 *      (those settings are "the text in the bot's language");
 *   3. the catalogue in the user's language;
 *   4. the catalogue in the bot's language, then English.
 */
import { catalogue, fill, type Language, languageOf, type TextKey, type TextValues } from "./catalogue.ts"
import { en } from "./en.ts"
import type { TextOverrides } from "./overrides.ts"

/** The parts of a bot the texts depend on. */
export interface TextSettings {
  readonly language: Language
  /** Per language, per key: an admin's own wording. */
  readonly texts: typeof TextOverrides.Type
  readonly startMessage: string
  readonly helpMessage: string
  readonly errorMessage: string
  readonly deniedMessage: string
  readonly limitMessage: string
}

/** The keys that also have a bot setting of their own, older than the catalogue. */
const ownSetting = {
  start: "startMessage",
  help: "helpMessage",
  error: "errorMessage",
  denied: "deniedMessage",
  limit: "limitMessage"
} as const satisfies Partial<Record<TextKey, keyof TextSettings>>

const hasOwnSetting = (key: TextKey): key is keyof typeof ownSetting => Object.hasOwn(ownSetting, key)

/**
 * English defaults shipped before, still stored on bots created then: they
 * are not the admin's wording, so such a bot gets today's text (the help
 * gained /new, /retry, /mode and /memory).
 */
const EARLIER_DEFAULTS: Partial<Record<TextKey, ReadonlyArray<string>>> = {
  help: [
    "Send me a message and I'll answer. Commands: /start to begin, /help for this text, /refresh to start a new conversation, /usage to see how much of your limits you have used."
  ]
}

const isShipped = (key: TextKey, text: string): boolean =>
  text === en[key] || (EARLIER_DEFAULTS[key]?.includes(text) ?? false)

/** What one user reads from one bot. */
export interface BotTexts {
  /** The language the user is answered in. */
  readonly language: Language
  /** The text for `key`, its `{placeholders}` filled from `values`. */
  readonly text: (key: TextKey, values?: TextValues) => string
}

/** The text before its placeholders are filled: the resolution order above. */
export const resolveText = (bot: TextSettings, language: Language, key: TextKey): string => {
  const override = bot.texts[language]?.[key]
  if (override !== undefined) return override
  if (language === bot.language && hasOwnSetting(key)) {
    const own = bot[ownSetting[key]]
    if (!isShipped(key, own)) return own
  }
  return catalogue[language][key] ?? catalogue[bot.language][key] ?? en[key]
}

/** The texts for the user whose Telegram `language_code` is `languageCode` (in groups: the sender's). */
export const botTexts = (bot: TextSettings, languageCode: string | null | undefined): BotTexts => {
  const language = languageOf(languageCode) ?? bot.language
  return { language, text: (key, values) => fill(resolveText(bot, language, key), values) }
}

/** The catalogue's English, for callers without a bot (and the English-only helpers kept for them). */
export const englishTexts: BotTexts = {
  language: "en",
  text: (key, values) => fill(en[key], values)
}
