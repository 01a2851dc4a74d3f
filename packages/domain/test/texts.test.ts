/**
 * The catalogue: every language has every text with the same placeholders;
 * a user's language is found from Telegram's code; the admin's texts win in
 * the documented order; overrides are checked where they enter.
 */
import { assert, describe, it } from "@effect/vitest"
import { Result, Schema } from "effect"
import { DEFAULT_HELP_MESSAGE, DEFAULT_START_MESSAGE } from "../src/BotSettings.ts"
import { commandMenu } from "../src/commands.ts"
import { botTexts } from "../src/texts/botTexts.ts"
import { catalogue, Languages, languageOf, placeholdersOf, textKeys } from "../src/texts/catalogue.ts"
import { TextOverridesInput } from "../src/texts/overrides.ts"
import { testBot } from "./fixtures.ts"

const commandsIn = (text: string) => [...new Set(text.match(/\/[a-z]+/g) ?? [])].sort()

describe("the catalogue", () => {
  it("has at least the twelve languages the bot promises", () => {
    assert.deepStrictEqual([...Languages].sort(), [
      "ar",
      "de",
      "en",
      "es",
      "fr",
      "hi",
      "id",
      "pt",
      "ru",
      "tr",
      "uk",
      "zh"
    ])
  })

  it("every language has every key, no other, each with the English text's placeholders", () => {
    for (const language of Languages) {
      const texts = catalogue[language] as Record<string, string>
      assert.deepStrictEqual(Object.keys(texts).sort(), [...textKeys].sort(), `${language}: keys`)
      for (const key of textKeys) {
        const text = texts[key]!
        assert.isTrue(text.trim().length > 0, `${language}.${key} is empty`)
        assert.deepStrictEqual(placeholdersOf(text), placeholdersOf(catalogue.en[key]), `${language}.${key}`)
      }
    }
  })

  it("translations are translated, and help names the same commands in every language", () => {
    for (const language of Languages.filter((language) => language !== "en")) {
      assert.notStrictEqual(catalogue[language].start, catalogue.en.start, language)
      assert.notStrictEqual(catalogue[language].newThread, catalogue.en.newThread, language)
      assert.deepStrictEqual(commandsIn(catalogue[language].help), commandsIn(catalogue.en.help), language)
    }
  })

  it("command descriptions fit Telegram's 256 characters", () => {
    for (const language of Languages) {
      for (const entry of commandMenu(botTexts(testBot({ language }), null))) {
        assert.isTrue(entry.description.length >= 1 && entry.description.length <= 256, language)
      }
    }
  })
})

describe("a user's language", () => {
  it("is Telegram's code by its primary subtag, when the catalogue has it", () => {
    assert.strictEqual(languageOf("es"), "es")
    assert.strictEqual(languageOf("pt-br"), "pt")
    assert.strictEqual(languageOf("zh-hans"), "zh")
    assert.strictEqual(languageOf("EN-us"), "en")
    assert.strictEqual(languageOf("xx"), null)
    assert.strictEqual(languageOf(""), null)
    assert.strictEqual(languageOf(null), null)
  })

  it("unknown or missing: the bot's language", () => {
    const bot = testBot({ language: "de", startMessage: DEFAULT_START_MESSAGE })
    assert.strictEqual(botTexts(bot, "xx").language, "de")
    assert.strictEqual(botTexts(bot, null).text("start"), catalogue.de.start)
    assert.strictEqual(botTexts(bot, "es").text("start"), catalogue.es.start)
  })
})

describe("which text wins", () => {
  const custom = testBot({
    language: "en",
    startMessage: "Welcome to Acme support!",
    helpMessage: DEFAULT_HELP_MESSAGE,
    texts: { es: { help: "Pregunta lo que quieras sobre Acme." }, en: { newThread: "Fresh start." } }
  })

  it("1. the override for the user's language", () => {
    assert.strictEqual(botTexts(custom, "es").text("help"), "Pregunta lo que quieras sobre Acme.")
    assert.strictEqual(botTexts(custom, "en").text("newThread"), "Fresh start.")
  })

  it("2. the bot's own text, for users of the bot's language, when changed from the shipped one", () => {
    assert.strictEqual(botTexts(custom, "en").text("start"), "Welcome to Acme support!")
    assert.strictEqual(botTexts(custom, "xx").text("start"), "Welcome to Acme support!")
  })

  it("3. otherwise the catalogue in the user's language", () => {
    assert.strictEqual(botTexts(custom, "es").text("start"), catalogue.es.start)
    assert.strictEqual(botTexts(custom, "fr").text("help"), catalogue.fr.help)
    assert.strictEqual(botTexts(custom, "en").text("help"), catalogue.en.help)
  })

  it("a help text shipped before (without /new, /retry, /mode, /memory) is not taken for the admin's", () => {
    const older = testBot({
      helpMessage:
        "Send me a message and I'll answer. Commands: /start to begin, /help for this text, /refresh to start a new conversation, /usage to see how much of your limits you have used."
    })
    assert.strictEqual(botTexts(older, "en").text("help"), catalogue.en.help)
    assert.include(botTexts(older, "en").text("help"), "/retry")
  })

  it("placeholders are filled in whichever text won", () => {
    const bot = testBot({ texts: { es: { "mode.set": "Ahora: {name}" } } })
    assert.strictEqual(botTexts(bot, "es").text("mode.set", { name: "Breve" }), "Ahora: Breve")
    assert.strictEqual(botTexts(bot, "de").text("mode.set", { name: "Kurz" }), "Modus auf Kurz gesetzt.")
  })
})

describe("overrides as an admin sends them", () => {
  const decode = Schema.decodeUnknownResult(TextOverridesInput)
  const refusal = (input: unknown) => {
    const result = decode(input)
    return Result.isFailure(result) ? String(result.failure) : "accepted"
  }

  it("known languages and keys, placeholders kept, are accepted", () => {
    assert.strictEqual(
      refusal({ es: { start: "¡Hola!", limit: "Límite {limit} hasta {reset}" } }),
      "accepted"
    )
  })

  it("an unknown language, an unknown key, a lost placeholder, a blank or too long text are refused", () => {
    assert.include(refusal({ xx: { start: "Hi" } }), "unknown language")
    assert.include(refusal({ es: { startt: "Hola" } }), "unknown text key")
    assert.include(refusal({ es: { limit: "Límite {limit}" } }), "placeholders changed")
    assert.include(refusal({ es: { start: "Hola {name}" } }), "placeholders changed")
    assert.include(refusal({ es: { start: "  " } }), "bad length")
    assert.include(refusal({ es: { "command.help": "x".repeat(257) } }), "bad length")
    assert.strictEqual(refusal({ es: { "command.help": "x".repeat(256) } }), "accepted")
  })
})
