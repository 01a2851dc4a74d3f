/**
 * The `texts` bot setting: an admin's own wording of any catalogue text, per
 * language. Checked where it enters: known languages and keys, a length
 * Telegram accepts, and the same `{placeholders}` as the text it replaces
 * (a lost `{reset}` would silently drop what the user needs to know).
 */
import { Schema } from "effect"
import { InputString } from "../text.ts"
import { isLanguage, isTextKey, Languages, placeholdersOf } from "./catalogue.ts"
import { en } from "./en.ts"

/** Telegram: a message is at most 4,096 characters, a command's description 256. */
const MESSAGE_MAX = 4096
const COMMAND_DESCRIPTION_MAX = 256

const maxLengthOf = (key: string): number =>
  key.startsWith("command.") ? COMMAND_DESCRIPTION_MAX : MESSAGE_MAX

/** As stored and shown. */
export const TextOverrides = Schema.Record(Schema.String, Schema.Record(Schema.String, Schema.String))

type Overrides = typeof TextOverrides.Type
type Problem = { readonly path: ReadonlyArray<string>; readonly issue: string }

/** Each entry's problems, by one rule, pointed at the entry (the API names that path). */
const rule = (expected: string, problemsOf: (overrides: Overrides) => ReadonlyArray<Problem>) =>
  Schema.makeFilter(
    (overrides: Overrides) => {
      const problems = problemsOf(overrides)
      return problems.length === 0 ? true : problems
    },
    { expected }
  )

const entries = (overrides: Overrides) =>
  Object.entries(overrides).flatMap(([language, texts]) =>
    isLanguage(language)
      ? Object.entries(texts).flatMap(([key, text]) => (isTextKey(key) ? [{ language, key, text }] : []))
      : []
  )

const knownLanguages = rule(`a language of the catalogue: ${Languages.join(", ")}`, (overrides) =>
  Object.keys(overrides)
    .filter((language) => !isLanguage(language))
    .map((language) => ({ path: [language], issue: "unknown language" }))
)

const knownKeys = rule("a text key of the catalogue (docs/api.md, Bot texts)", (overrides) =>
  Object.entries(overrides).flatMap(([language, texts]) =>
    Object.keys(texts)
      .filter((key) => !isTextKey(key))
      .map((key) => ({ path: [language, key], issue: "unknown text key" }))
  )
)

const lengths = rule(
  `a text of 1 to ${MESSAGE_MAX} characters (a command's description: 1 to ${COMMAND_DESCRIPTION_MAX}), not blank`,
  (overrides) =>
    entries(overrides)
      .filter(({ key, text }) => text.trim() === "" || text.length > maxLengthOf(key))
      .map(({ language, key }) => ({ path: [language, key], issue: "bad length" }))
)

const placeholdersKept = rule("the same {placeholders} as the catalogue's text for that key", (overrides) =>
  entries(overrides)
    .filter(({ key, text }) => placeholdersOf(en[key]).join(",") !== placeholdersOf(text).join(","))
    .map(({ language, key }) => ({ path: [language, key], issue: "placeholders changed" }))
)

/** What a create or update body may carry: replaces the whole setting. */
export const TextOverridesInput = Schema.Record(
  InputString,
  Schema.Record(InputString, InputString).check(Schema.isMaxProperties(200))
).check(Schema.isMaxProperties(Languages.length), knownLanguages, knownKeys, lengths, placeholdersKept)
