/**
 * Personas: a bot's ways of answering, one chosen per conversation (a chat, or
 * one forum topic of it) with /mode. A persona replaces the bot's system
 * prompt and, where it names them, its model, temperature, knowledge bases
 * and built-in tools, for the model request only: limits, access and texts stay the bot's.
 */
import { Schema } from "effect"
import type { Bot } from "./Bot.ts"
import type { Chat } from "./Chat.ts"
import { KnowledgeBaseId } from "./Knowledge.ts"
import { InputString } from "./text.ts"
import type { BotTexts } from "./texts/botTexts.ts"
import { BuiltinToolName } from "./toolNames.ts"

/** At most this many personas per bot: /mode shows them all as buttons. */
export const PERSONAS_MAX = 20

/**
 * Lowercase letters, digits, `_` and `-`, at most 32: short enough that the
 * button's callback data (`mode:<key>`) stays under Telegram's 64 bytes.
 */
export const PersonaKey = InputString.check(
  Schema.isMinLength(1),
  Schema.isMaxLength(32),
  Schema.isPattern(/^[a-z0-9_-]{1,32}$/)
)

export const Persona = Schema.Struct({
  key: PersonaKey,
  /** What the button shows. */
  name: InputString.check(Schema.isTrimmed(), Schema.isMinLength(1), Schema.isMaxLength(64)),
  systemPrompt: InputString.check(Schema.isMaxLength(20_000)),
  /** Absent or null: the bot's model. */
  model: Schema.optional(
    Schema.NullOr(InputString.check(Schema.isTrimmed(), Schema.isMinLength(1), Schema.isMaxLength(200)))
  ),
  /** Absent or null: the bot's temperature. */
  temperature: Schema.optional(
    Schema.NullOr(Schema.Finite.check(Schema.isBetween({ minimum: 0, maximum: 2 })))
  ),
  /** Absent or null: the bot's knowledge bases; a list (even empty) replaces them. */
  knowledgeBaseIds: Schema.optional(
    Schema.NullOr(Schema.Array(KnowledgeBaseId).check(Schema.isMaxLength(20)))
  ),
  /** Absent or null: the bot's built-in tools; a list (even empty) replaces them. */
  tools: Schema.optional(Schema.NullOr(Schema.Array(BuiltinToolName).check(Schema.isMaxLength(20))))
})
export type Persona = typeof Persona.Type

/** The list an admin may set: at most PERSONAS_MAX, each key once. */
export const PersonaList = Schema.Array(Persona).check(
  Schema.isMaxLength(PERSONAS_MAX),
  Schema.makeFilter(
    (personas: ReadonlyArray<Persona>) => new Set(personas.map((p) => p.key)).size === personas.length,
    { expected: "personas with distinct keys" }
  )
)

/** The key a chat's conversation is stored under in `Chat.topics`: its forum topic, or "0" outside topics. */
export const topicKey = (topicId: number | null): string => String(topicId ?? 0)

/**
 * The persona a conversation answers with: the one chosen there (unless the
 * admin locked the choice), else the bot's default; none when neither names
 * one of the bot's personas (a persona removed later falls back the same way).
 */
export const personaOf = (bot: Bot, chat: Chat, topicId: number | null): Persona | null => {
  if (bot.personas.length === 0) return null
  const chosen = bot.personaLocked ? null : (chat.topics[topicKey(topicId)]?.persona ?? null)
  const find = (key: string | null) => (key === null ? undefined : bot.personas.find((p) => p.key === key))
  return find(chosen) ?? find(bot.defaultPersona) ?? null
}

/** The bot as the model request sees it under `persona`: its prompt, and its model, temperature, bases and tools where set. */
// A copy on the same prototype, as `trusted` makes one: every field is already checked, and
// importing the Bot class here would close an import cycle (Bot → BotSettings → Persona).
export const withPersona = (bot: Bot, persona: Persona | null): Bot =>
  persona === null
    ? bot
    : Object.assign(Object.create(Object.getPrototypeOf(bot)), bot, {
        systemPrompt: persona.systemPrompt,
        model: persona.model ?? bot.model,
        temperature: persona.temperature ?? bot.temperature,
        knowledgeBaseIds: persona.knowledgeBaseIds ?? bot.knowledgeBaseIds,
        tools: persona.tools ?? bot.tools
      })

/** A button of /mode's answer: its label and the data Telegram sends back when pressed. */
export interface ModeButton {
  readonly text: string
  readonly data: string
}

const MODE_DATA = "mode:"

/** The persona a button press names (`mode:<key>`), or undefined for any other data. */
export const pressedPersona = (data: string | null): string | undefined =>
  data?.startsWith(MODE_DATA) ? data.slice(MODE_DATA.length) : undefined

/** /mode's answer: the text, and a button per persona (the current one marked) unless locked or none. */
export const modeAnswer = (
  bot: Bot,
  chat: Chat,
  topicId: number | null,
  texts: BotTexts
): { readonly text: string; readonly buttons: ReadonlyArray<ModeButton> } => {
  if (bot.personas.length === 0) return { text: texts.text("mode.none"), buttons: [] }
  const current = personaOf(bot, chat, topicId)
  if (bot.personaLocked) return { text: texts.text("mode.locked"), buttons: [] }
  return {
    text: texts.text("mode.choose"),
    buttons: bot.personas.map((persona) => ({
      text: persona.key === current?.key ? texts.text("mode.current", { name: persona.name }) : persona.name,
      data: `${MODE_DATA}${persona.key}`
    }))
  }
}

/** What a press of a /mode button does: the persona to keep for the conversation, and the toast that says so. */
export type PersonaPress =
  | { readonly _tag: "Switch"; readonly key: string; readonly text: string }
  | { readonly _tag: "Refused"; readonly text: string }

export const pressPersona = (bot: Bot, key: string, texts: BotTexts): PersonaPress => {
  if (bot.personaLocked) return { _tag: "Refused", text: texts.text("mode.locked") }
  const persona = bot.personas.find((p) => p.key === key)
  if (persona === undefined) return { _tag: "Refused", text: texts.text("mode.unknown") }
  return { _tag: "Switch", key, text: texts.text("mode.set", { name: persona.name }) }
}
