/**
 * What an admin may set on a bot, declared once. Each setting names its stored
 * type, what a client may send for it (with the limits the API enforces) and
 * its value on a new bot. The `Bot` entity, the API's create and update
 * bodies, its bot view, the stored row and the console's input limits (read
 * from /openapi.json) are all derived from this table, so a new setting is a
 * migration, one entry here and one entry in the console's botFields.js.
 */
import { Effect, Schema } from "effect"
import { AccessMode, BotLimits, DEFAULT_DENIED_MESSAGE, DEFAULT_LIMIT_MESSAGE, NO_LIMITS } from "./Access.ts"
import { DEFAULT_GROUP_MODE, GroupMode } from "./groups.ts"
import { ProviderId } from "./ids.ts"
import { KnowledgeBaseId, KnowledgeMode } from "./Knowledge.ts"
import { McpServerId } from "./McpServer.ts"
import { PersonaKey, PersonaList } from "./Persona.ts"
import { InputString } from "./text.ts"
import { Languages } from "./texts/catalogue.ts"
import { en } from "./texts/en.ts"
import { TextOverrides, TextOverridesInput } from "./texts/overrides.ts"
import { DEFAULT_TIME_ZONE, TimeZoneInput } from "./timeZone.ts"
import { BuiltinToolName, DEFAULT_MAX_TOOL_STEPS, MAX_TOOL_STEPS } from "./toolNames.ts"
import { DEFAULT_SPEECH_MODEL, DEFAULT_SPEECH_VOICE, SpeechVoice, VoiceReplies } from "./voiceReplies.ts"

interface Setting<Type extends Schema.Top, Input extends Schema.Top> {
  /** What a Bot holds. */
  readonly type: Type
  /** What a create or update body may carry: the type with the API's limits. */
  readonly input: Input
  /** A new bot's value when the create body leaves it out. */
  readonly initial: Type["Type"]
  /** How a given value changes the current one; replacing it when absent. */
  readonly merge?: (current: Type["Type"], given: Input["Type"]) => Type["Type"]
}

const setting = <Type extends Schema.Top, Input extends Schema.Top>(
  type: Type,
  input: Input,
  initial: Type["Type"],
  merge?: (current: Type["Type"], given: Input["Type"]) => Type["Type"]
): Setting<Type, Input> => (merge === undefined ? { type, input, initial } : { type, input, initial, merge })

const flag = (initial: boolean) => setting(Schema.Boolean, Schema.Boolean, initial)

const Text = (max: number) => InputString.check(Schema.isMaxLength(max))
/** A text the bot sends as one Telegram message (4,096 characters at most). */
const MessageText = InputString.check(Schema.isMinLength(1), Schema.isMaxLength(4096))
const ModelName = InputString.check(Schema.isTrimmed(), Schema.isMinLength(1), Schema.isMaxLength(200))
const TelegramIds = Schema.Array(Schema.Int).check(Schema.isMaxLength(10_000))
const LimitCount = Schema.NullOr(Schema.Int.check(Schema.isBetween({ minimum: 0, maximum: 1_000_000_000 })))
const LimitUsd = Schema.NullOr(Schema.Finite.check(Schema.isBetween({ minimum: 0, maximum: 1_000_000 })))

/** Each limit is optional (null = none); a PATCH changes only the limits it names. */
export const LimitsInput = Schema.Struct({
  userMessagesPerMinute: Schema.optional(LimitCount),
  userMessagesPerDay: Schema.optional(LimitCount),
  userTokensPerDay: Schema.optional(LimitCount),
  userUsdPerMonth: Schema.optional(LimitUsd),
  botUsdPerMonth: Schema.optional(LimitUsd)
})

/** Limits named in the input replace the current ones; the others stay. */
const mergeLimits = (current: BotLimits, given: typeof LimitsInput.Type): BotLimits => {
  const merged = { ...current }
  for (const key of Object.keys(current) as Array<keyof BotLimits>) {
    const value = given[key]
    if (value !== undefined) merged[key] = value
  }
  return merged
}

export const DEFAULT_HISTORY_LIMIT = 20

export { BuiltinToolName, DEFAULT_MAX_TOOL_STEPS, MAX_TOOL_STEPS } from "./toolNames.ts"

/** `historyRetentionDays` lies within these bounds (or is null). */
export const HISTORY_RETENTION_DAYS_MIN = 1
export const HISTORY_RETENTION_DAYS_MAX = 3650

// The shipped texts are the catalogue's English (texts/en.ts): a bot still holding one is translated.
export const DEFAULT_START_MESSAGE: string = en.start
export const DEFAULT_HELP_MESSAGE: string = en.help
export const DEFAULT_ERROR_MESSAGE: string = en.error

/** The table. Its order is the order of the API's bodies, views and validation messages. */
export const botSettings = {
  /** null: the default model (the provider's, else OPENAI_MODEL). */
  model: setting(Schema.NullOr(Schema.String), Schema.NullOr(Text(200)), null),
  systemPrompt: setting(Schema.String, Text(20_000), ""),
  startMessage: setting(Schema.String, Text(4096), DEFAULT_START_MESSAGE),
  helpMessage: setting(Schema.String, Text(4096), DEFAULT_HELP_MESSAGE),
  errorMessage: setting(Schema.String, Text(4096), DEFAULT_ERROR_MESSAGE),
  /** The language of users whose own is not in the catalogue; the texts above are in it. */
  language: setting(Schema.Literals(Languages), Schema.Literals(Languages), "en"),
  /** The admin's wording of any catalogue text, per language (texts/botTexts.ts: which wins). */
  texts: setting(TextOverrides, TextOverridesInput, {}),
  /** Earlier messages of the chat sent to the model. */
  historyLimit: setting(
    Schema.Int,
    Schema.Int.check(Schema.isBetween({ minimum: 0, maximum: 200 })),
    DEFAULT_HISTORY_LIMIT
  ),
  /**
   * The tokens one request may take: system prompt, history, the message and
   * the answer's room (contextBudget.ts). null: the model's context window.
   */
  contextTokens: setting(
    Schema.NullOr(Schema.Int),
    Schema.NullOr(Schema.Int.check(Schema.isBetween({ minimum: 512, maximum: 2_000_000 }))),
    null
  ),
  // Who may talk to the bot and how much (Access.ts).
  access: setting(AccessMode, AccessMode, "open"),
  allowedUserIds: setting(Schema.Array(Schema.Int), TelegramIds, []),
  allowedChatIds: setting(Schema.Array(Schema.Int), TelegramIds, []),
  blockedUserIds: setting(Schema.Array(Schema.Int), TelegramIds, []),
  deniedMessage: setting(Schema.String, MessageText, DEFAULT_DENIED_MESSAGE),
  limits: setting(BotLimits, LimitsInput, NO_LIMITS, mergeLimits),
  limitMessage: setting(Schema.String, MessageText, DEFAULT_LIMIT_MESSAGE),
  // Which LLM endpoint answers and how; null is the default each time.
  /** null: the env default provider (OPENAI_BASE_URL, OPENAI_API_KEY). */
  providerId: setting(Schema.NullOr(ProviderId), Schema.NullOr(ProviderId), null),
  /** null: OPENAI_FALLBACK_MODEL on the env default, none on a provider. */
  fallbackModel: setting(Schema.NullOr(Schema.String), Schema.NullOr(ModelName), null),
  /** 0–2; null: the provider's own default. */
  temperature: setting(
    Schema.NullOr(Schema.Number),
    Schema.NullOr(Schema.Finite.check(Schema.isBetween({ minimum: 0, maximum: 2 }))),
    null
  ),
  /** null: no limit beyond the model's own. */
  maxOutputTokens: setting(
    Schema.NullOr(Schema.Int),
    Schema.NullOr(Schema.Int.check(Schema.isBetween({ minimum: 1, maximum: 1_000_000 }))),
    null
  ),
  /** Which group messages are answered (groups.ts). */
  groupMode: setting(GroupMode, GroupMode, DEFAULT_GROUP_MODE),
  /** Private answers grow as drafts while the model writes. */
  streaming: flag(true),
  /** Voice, audio and video notes are transcribed and answered. */
  voice: flag(true),
  /** Photos go to the model as images. */
  vision: flag(true),
  /** Messages older than this many days are deleted; null: kept. */
  historyRetentionDays: setting(
    Schema.NullOr(Schema.Int),
    Schema.NullOr(
      Schema.Int.check(
        Schema.isBetween({ minimum: HISTORY_RETENTION_DAYS_MIN, maximum: HISTORY_RETENTION_DAYS_MAX })
      )
    ),
    null
  ),
  /** The MCP servers whose allowed tools the bot may call; a list given replaces the whole list. */
  mcpServerIds: setting(
    Schema.Array(McpServerId),
    Schema.Array(McpServerId).check(Schema.isMaxLength(20)),
    [],
    (_current, given) => [...new Set(given)]
  ),
  /** The knowledge bases the bot answers from; a list given replaces the whole list. */
  knowledgeBaseIds: setting(
    Schema.Array(KnowledgeBaseId),
    Schema.Array(KnowledgeBaseId).check(Schema.isMaxLength(20)),
    [],
    (_current, given) => [...new Set(given)]
  ),
  /** Answer only from the knowledge bases: "I don't know" when they have nothing, the model not asked. */
  knowledgeOnly: flag(false),
  /** When answers are spoken as voice notes (voiceReplies.ts). */
  voiceReplies: setting(VoiceReplies, VoiceReplies, "off"),
  /** The `/audio/speech` model, on the bot's provider. */
  speechModel: setting(Schema.String, ModelName, DEFAULT_SPEECH_MODEL),
  /** One of OpenAI's voices, or any name the provider's server knows. */
  speechVoice: setting(Schema.String, SpeechVoice, DEFAULT_SPEECH_VOICE),
  /** "inject": passages found for every question go with it; "tool": the model searches with search_knowledge. */
  knowledgeMode: setting(KnowledgeMode, KnowledgeMode, "inject"),
  // Personas (Persona.ts): ways of answering a chat picks with /mode.
  /** A list given replaces the whole list. */
  personas: setting(PersonaList, PersonaList, []),
  /** The persona a chat starts with; null (or a key no persona has): the bot's own prompt and model. */
  defaultPersona: setting(Schema.NullOr(Schema.String), Schema.NullOr(PersonaKey), null),
  /** Users cannot switch: every chat answers with the default. */
  personaLocked: flag(false),
  /** The model generate_image asks the bot's provider for (its /images/generations). */
  imageModel: setting(Schema.String, ModelName, "gpt-image-1"),
  /** The built-in tools switched on; a list given replaces the whole list. */
  tools: setting(
    Schema.Array(BuiltinToolName),
    Schema.Array(BuiltinToolName).check(Schema.isMaxLength(20)),
    [],
    (_current, given) => [...new Set(given)]
  ),
  /** Tool-calling model requests per reply (then it answers without tools); 0: no tools at all. */
  maxToolSteps: setting(
    Schema.Int,
    Schema.Int.check(Schema.isBetween({ minimum: 0, maximum: MAX_TOOL_STEPS })),
    DEFAULT_MAX_TOOL_STEPS
  ),
  /** current_time answers in it when the model names no zone (Telegram does not tell a user's). */
  timeZone: setting(Schema.String, TimeZoneInput, DEFAULT_TIME_ZONE),
  /**
   * The most chats of the bot one process answers at once, below the process's
   * fair share (never above it); null: the fair share. Per process: with
   * several, each holds up to this many.
   */
  maxConcurrentChats: setting(
    Schema.NullOr(Schema.Int),
    Schema.NullOr(Schema.Int.check(Schema.isBetween({ minimum: 1, maximum: 1000 }))),
    null
  )
}

type Settings = typeof botSettings
export type BotSettingName = keyof Settings

/** Every setting's value, as a Bot holds them. */
export type BotSettings = { readonly [K in BotSettingName]: Settings[K]["type"]["Type"] }
/** Settings to change; absent or undefined ones stay as they are. */
export type BotSettingsPatch = { readonly [K in BotSettingName]?: Settings[K]["input"]["Type"] | undefined }

export const botSettingNames = Object.keys(botSettings) as ReadonlyArray<BotSettingName>

/** Any entry of the table, as the derivations below walk it. */
interface AnySetting {
  readonly type: Schema.Top & Schema.WithoutConstructorDefault
  readonly input: Schema.Top
  readonly initial: unknown
  readonly merge?: (current: unknown, given: unknown) => unknown
}

const entryOf = (name: BotSettingName): AnySetting => botSettings[name] as unknown as AnySetting

const mapSettings = <F>(f: (entry: AnySetting) => F): Record<BotSettingName, F> =>
  Object.fromEntries(botSettingNames.map((name) => [name, f(entryOf(name))])) as Record<BotSettingName, F>

/** The Bot entity's fields for its settings, each with its value on a new bot. */
export const botSettingFields = mapSettings((entry) =>
  entry.type.pipe(Schema.withConstructorDefault(Effect.succeed(entry.initial)))
) as unknown as { readonly [K in BotSettingName]: Schema.withConstructorDefault<Settings[K]["type"]> }

/** A create or update body's fields for the settings: each optional, with the API's limits. */
export const botSettingInputFields = mapSettings((entry) => Schema.optional(entry.input)) as unknown as {
  readonly [K in BotSettingName]: Schema.optional<Settings[K]["input"]>
}

/** The settings as a view shows them: their stored types. */
export const botSettingViewFields = mapSettings((entry) => entry.type) as unknown as {
  readonly [K in BotSettingName]: Settings[K]["type"]
}

/** A new bot's settings. */
export const initialBotSettings = mapSettings((entry) => entry.initial) as BotSettings

/** The settings part of a bot (or of any value holding them all). */
export const botSettingsOf = (bot: BotSettings): BotSettings =>
  Object.fromEntries(botSettingNames.map((name) => [name, bot[name]])) as unknown as BotSettings

/** `current` with what `patch` gives: replaced, or merged where the setting says how. */
export const applyBotSettings = (current: BotSettings, patch: BotSettingsPatch): BotSettings => {
  const next: Record<string, unknown> = { ...current }
  for (const name of botSettingNames) {
    const given = patch[name]
    if (given === undefined) continue
    const entry = entryOf(name)
    next[name] = entry.merge === undefined ? given : entry.merge(current[name], given)
  }
  return next as unknown as BotSettings
}
