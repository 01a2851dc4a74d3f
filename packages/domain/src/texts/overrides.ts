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

const problemsOf = (overrides: typeof TextOverrides.Type) => {
  const problems: Array<{ readonly path: ReadonlyArray<string>; readonly issue: string }> = []
  for (const [language, texts] of Object.entries(overrides)) {
    if (!isLanguage(language)) {
      problems.push({ path: [language], issue: `unknown language; one of ${Languages.join(", ")}` })
      continue
    }
    for (const [key, text] of Object.entries(texts)) {
      if (!isTextKey(key)) {
        problems.push({ path: [language, key], issue: "unknown text key (see docs: bot texts)" })
        continue
      }
      if (text.trim() === "" || text.length > maxLengthOf(key)) {
        problems.push({ path: [language, key], issue: `must be 1 to ${maxLengthOf(key)} characters` })
        continue
      }
      const wanted = placeholdersOf(en[key])
      const given = placeholdersOf(text)
      if (wanted.join(",") !== given.join(",")) {
        const list = wanted.length === 0 ? "none" : wanted.map((name) => `{${name}}`).join(", ")
        problems.push({ path: [language, key], issue: `must keep the placeholders ${list}` })
      }
    }
  }
  return problems.length === 0 ? true : problems
}

/** What a create or update body may carry: replaces the whole setting. */
export const TextOverridesInput = Schema.Record(
  InputString,
  Schema.Record(InputString, InputString).check(Schema.isMaxProperties(200))
).check(
  Schema.isMaxProperties(Languages.length),
  Schema.makeFilter(problemsOf, { expected: "texts per known language and key, placeholders kept" })
)
