/**
 * Every text the bot sends on its own, in each language it speaks: one file
 * per language, the English one naming the keys. Pure data; which language
 * a user gets and which admin text wins is botTexts.ts.
 */
import { ar } from "./ar.ts"
import { de } from "./de.ts"
import { type Catalogue, en, type TextKey } from "./en.ts"
import { es } from "./es.ts"
import { fr } from "./fr.ts"
import { hi } from "./hi.ts"
import { id } from "./id.ts"
import { pt } from "./pt.ts"
import { ru } from "./ru.ts"
import { tr } from "./tr.ts"
import { uk } from "./uk.ts"
import { zh } from "./zh.ts"

export type { Catalogue, TextKey }

export const Languages = ["en", "es", "de", "fr", "pt", "ru", "uk", "tr", "ar", "hi", "id", "zh"] as const
export type Language = (typeof Languages)[number]

export const catalogue: { readonly [L in Language]: Catalogue } = {
  en,
  es,
  de,
  fr,
  pt,
  ru,
  uk,
  tr,
  ar,
  hi,
  id,
  zh
}

export const textKeys = Object.keys(en) as ReadonlyArray<TextKey>

/** In English, as the model is told the user's language. */
export const languageNames: { readonly [L in Language]: string } = {
  en: "English",
  es: "Spanish",
  de: "German",
  fr: "French",
  pt: "Portuguese",
  ru: "Russian",
  uk: "Ukrainian",
  tr: "Turkish",
  ar: "Arabic",
  hi: "Hindi",
  id: "Indonesian",
  zh: "Chinese"
}

/** Telegram sends IETF tags; anything else is not put before the model. */
const LANGUAGE_TAG = /^[A-Za-z]{2,3}(?:[-_][A-Za-z0-9]{1,8}){0,3}$/

/**
 * What the model is told of the user's language, from their Telegram code
 * (named when the catalogue knows it; any other well-formed code as it is).
 * Null when there is none, or when it is the bot's own language: the bot's
 * prompt is written for those users, and most requests spare the tokens.
 */
export const userLanguageLine = (code: string | null | undefined, botLanguage: Language): string | null => {
  if (code == null || !LANGUAGE_TAG.test(code)) return null
  const language = languageOf(code)
  if (language === botLanguage) return null
  const named = language === null ? code : `${languageNames[language]} (${code})`
  return `The user's language is ${named}; answer in it unless they write in another.`
}

export const isLanguage = (value: string): value is Language =>
  (Languages as ReadonlyArray<string>).includes(value)
export const isTextKey = (value: string): value is TextKey => Object.hasOwn(en, value)

/**
 * A Telegram `language_code` (IETF tag: "es", "pt-br", "zh-hans") as one of
 * ours, by its primary subtag; null for a language we do not have.
 */
export const languageOf = (code: string | null | undefined): Language | null => {
  if (code == null) return null
  const primary = code.trim().toLowerCase().split(/[-_]/)[0] ?? ""
  return isLanguage(primary) ? primary : null
}

const PLACEHOLDER = /\{([A-Za-z]+)\}/g

/** The placeholders a text carries, e.g. ["limit", "reset"], sorted, once each. */
export const placeholdersOf = (text: string): ReadonlyArray<string> =>
  [...new Set(Array.from(text.matchAll(PLACEHOLDER), (match) => match[1]!))].sort()

export type TextValues = { readonly [name: string]: string | number }

/** `template` with each `{name}` replaced by its value; unknown names stay as written. */
export const fill = (template: string, values: TextValues = {}): string =>
  template.replace(PLACEHOLDER, (whole, name: string) =>
    Object.hasOwn(values, name) ? String(values[name]) : whole
  )
