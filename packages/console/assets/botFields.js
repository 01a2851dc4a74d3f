/**
 * Every editable field of a bot, as the bot form shows it. A new API field is
 * one more entry here: `name` is the API's field (a dotted path for nested
 * objects, e.g. "limits.userMessagesPerDay"), `kind` picks the input.
 *
 * kinds: text, textarea, number, select (`options`), checkbox, ids (a list of
 * numbers written comma- or space-separated), names (a list of words, the same way),
 * json (a list or object written as JSON in a textarea; the browser refuses to
 * submit text that does not parse), picks (a list of ids chosen by name with a
 * checkbox each; `options` is a function of the form's `choices`, loaded from the API). `nullable`: an empty input sends
 * null (for limits: no limit). Lengths and ranges are not copied here: the
 * form reads them from the API's own schema (capabilities.js `botFieldLimits`).
 * `onCreate`: also asked when adding a bot (the rest keep the server's defaults).
 * `requires`: shown only when the server has that feature (capabilities.js).
 * A select's `options` may be a function of the form's `choices` (e.g. the providers).
 */
export const botSections = [
  {
    id: "basics",
    title: "Basics",
    text: "How the bot is named here. Its Telegram name is set in @BotFather."
  },
  { id: "model", title: "Model", text: "Which model answers and how much of the conversation it sees." },
  {
    id: "texts",
    title: "Prompt and texts",
    text: "What the model is told, and the fixed answers to commands."
  },
  {
    id: "personas",
    title: "Personas",
    text: "Ways of answering a chat can choose with /mode: each replaces the system prompt and, where set, the model, temperature and knowledge bases."
  },
  {
    id: "conversations",
    title: "Conversations",
    text: "What the bot answers in groups, and which kinds of messages it understands."
  },
  {
    id: "access",
    title: "Access and limits",
    text: "Who may talk to the bot, and how much each user and the bot may use the model. Limits count in UTC windows."
  }
]

/** A list of Telegram ids: numbers (groups' are negative) separated by commas or spaces. */
export const IDS_PATTERN = String.raw`[\s,]*(-?\d+([\s,]+-?\d+)*)?[\s,]*`

const idsField = (name, label, help) => ({
  name,
  section: "access",
  kind: "ids",
  label,
  pattern: IDS_PATTERN,
  placeholder: "e.g. 111111111, 222222222",
  help
})

const limitField = (key, label, help, { usd = false } = {}) => ({
  name: `limits.${key}`,
  section: "access",
  kind: "number",
  label,
  nullable: true,
  step: usd ? "0.01" : "1",
  placeholder: "No limit",
  help: `${help} Empty: no limit.`
})

export const botFields = [
  {
    name: "name",
    section: "basics",
    kind: "text",
    label: "Name",
    required: true,
    onCreate: true
  },
  {
    name: "model",
    section: "model",
    kind: "text",
    label: "Model",
    nullable: true,
    onCreate: true,
    placeholder: (bot) => (bot ? `Server default (${bot.effectiveModel})` : "Server default (OPENAI_MODEL)"),
    help: "Leave empty to use the server's default model."
  },
  {
    name: "providerId",
    section: "model",
    kind: "select",
    label: "Provider",
    nullable: true,
    onCreate: true,
    requires: "providers",
    options: (choices) => [
      { value: "", label: "Server default (OPENAI_BASE_URL)" },
      ...(choices.providers ?? []).map((provider) => ({ value: provider.id, label: provider.name }))
    ],
    help: "The OpenAI-compatible server that answers (add one on the Providers page). Voice is transcribed by the server default."
  },
  {
    name: "fallbackModel",
    section: "model",
    kind: "text",
    label: "Fallback model",
    nullable: true,
    requires: "providers",
    placeholder: "None (the server default's OPENAI_FALLBACK_MODEL)",
    help: "Asked once when the model is down or unknown, on the same provider."
  },
  {
    name: "imageModel",
    section: "model",
    kind: "text",
    label: "Image model",
    requires: "providers",
    help: "What the generate_image tool asks the bot's provider for (POST /images/generations), priced per image."
  },
  {
    name: "temperature",
    section: "model",
    kind: "number",
    label: "Temperature",
    nullable: true,
    step: "0.1",
    requires: "providers",
    placeholder: "Provider default",
    help: "0–2: lower is more focused, higher more varied. Empty: the provider's default."
  },
  {
    name: "maxOutputTokens",
    section: "model",
    kind: "number",
    label: "Longest answer (tokens)",
    nullable: true,
    step: "1",
    requires: "providers",
    placeholder: "No limit",
    help: "The model stops after this many tokens. Empty: no limit beyond the model's own."
  },
  {
    name: "historyLimit",
    section: "model",
    kind: "number",
    label: "History",
    help: "How many earlier messages of the chat go to the model with each question (0–200)."
  },
  {
    name: "contextTokens",
    section: "model",
    kind: "number",
    label: "Context budget (tokens)",
    nullable: true,
    step: "1",
    placeholder: "The model's context window",
    help: "What one request may take: prompt, history, the question and the answer's room. Older turns past it are summarised. Empty: the model's own window."
  },
  {
    name: "historyRetentionDays",
    section: "model",
    kind: "number",
    label: "Keep messages for (days)",
    nullable: true,
    step: "1",
    placeholder: "Forever",
    help: "Messages older than this are deleted every minute; the stats keep counting them. Empty: keep every message."
  },
  {
    name: "maxConcurrentChats",
    section: "model",
    kind: "number",
    label: "Chats answered at once",
    nullable: true,
    step: "1",
    placeholder: "A fair share",
    help: "The most chats of this bot each server process answers at the same time (others wait their turn, in order); never more than the bot's fair share of the process's slots. Empty: that fair share."
  },
  {
    name: "systemPrompt",
    section: "texts",
    kind: "textarea",
    label: "System prompt",
    rows: 8,
    onCreate: true,
    help: "Instructions the model gets before every conversation: role, tone, what to avoid."
  },
  {
    name: "startMessage",
    section: "texts",
    kind: "textarea",
    label: "Start message",
    rows: 3,
    help: "The answer to /start."
  },
  {
    name: "helpMessage",
    section: "texts",
    kind: "textarea",
    label: "Help message",
    rows: 3,
    help: "The answer to /help."
  },
  {
    name: "errorMessage",
    section: "texts",
    kind: "textarea",
    label: "Error message",
    rows: 2,
    help: "What the user gets when a reply fails."
  },
  {
    name: "language",
    section: "texts",
    kind: "select",
    label: "Language",
    options: [
      { value: "en", label: "English" },
      { value: "es", label: "Español" },
      { value: "de", label: "Deutsch" },
      { value: "fr", label: "Français" },
      { value: "pt", label: "Português" },
      { value: "ru", label: "Русский" },
      { value: "uk", label: "Українська" },
      { value: "tr", label: "Türkçe" },
      { value: "ar", label: "العربية" },
      { value: "hi", label: "हिन्दी" },
      { value: "id", label: "Bahasa Indonesia" },
      { value: "zh", label: "中文" }
    ],
    help: "Users are answered in their Telegram language when the bot speaks it, otherwise in this one. The start, help, error, refusal and limit texts are in this language."
  },
  {
    name: "texts",
    section: "texts",
    kind: "json",
    label: "Texts per language",
    rows: 6,
    placeholder: '{ "es": { "start": "¡Hola! Soy el asistente de Acme." } }',
    help: 'Your wording of any text the bot sends on its own, by language and key (the keys are listed in the API docs under "Bot texts"); keep the {placeholders} of the text you replace. Empty: the built-in texts.'
  },
  {
    name: "groupMode",
    section: "conversations",
    kind: "select",
    label: "In groups",
    options: [
      { value: "mention", label: "Answer when mentioned or replied to" },
      { value: "all", label: "Answer every message" },
      { value: "off", label: "Never answer in groups" }
    ],
    help: "Messages not answered are still stored and give context to the next answer. Private chats are not affected."
  },
  {
    name: "streaming",
    section: "conversations",
    kind: "checkbox",
    label: "Show the answer as it is written",
    help: "In private chats the user sees the answer grow while the model writes."
  },
  {
    name: "voice",
    section: "conversations",
    kind: "checkbox",
    label: "Understand voice messages",
    help: "Voice messages, audio files and video notes are transcribed and answered."
  },
  {
    name: "vision",
    section: "conversations",
    kind: "checkbox",
    label: "Look at photos",
    help: "Photos go to the model as images (the model must accept images); otherwise only captions are read."
  },
  {
    name: "knowledgeBaseIds",
    section: "conversations",
    kind: "picks",
    label: "Knowledge bases",
    requires: "knowledge",
    options: (choices) =>
      (choices.knowledgeBases ?? []).map((base) => ({ value: base.id, label: base.name })),
    none: "No knowledge bases yet: add one on the Knowledge page.",
    help: "The documents the bot answers from (a persona may name its own in the personas list)."
  },
  {
    name: "knowledgeOnly",
    section: "conversations",
    kind: "checkbox",
    label: "Answer only from knowledge bases",
    help: "The bot answers only from its knowledge bases' passages, and says it does not know when they have nothing (without asking the model)."
  },
  {
    name: "voiceReplies",
    section: "conversations",
    kind: "select",
    label: "Answer by voice",
    options: [
      { value: "off", label: "Never (text only)" },
      { value: "when_spoken_to", label: "When the user sent a voice message" },
      { value: "always", label: "Every answer of the model" }
    ],
    help: "A spoken answer is a voice note with the text as its caption, or followed by the text when it is longer. Speech is billed by the provider per character."
  },
  {
    name: "speechModel",
    section: "conversations",
    kind: "text",
    label: "Speech model",
    help: "The provider's /audio/speech model, e.g. gpt-4o-mini-tts, tts-1 or tts-1-hd."
  },
  {
    name: "speechVoice",
    section: "conversations",
    kind: "text",
    label: "Voice",
    placeholder: "alloy",
    help: "OpenAI's voices: alloy, ash, ballad, coral, echo, fable, nova, onyx, sage, shimmer, verse; another server's voice by its name."
  },
  {
    name: "knowledgeMode",
    section: "conversations",
    kind: "select",
    label: "Knowledge bases are used",
    options: [
      { value: "inject", label: "For every question (passages sent with it)" },
      { value: "tool", label: "When the model searches them (search_knowledge tool)" }
    ],
    help: "For every question: each message costs a search and its passages' tokens. As a tool: the model searches only when it needs to; it must support tool calls."
  },
  {
    name: "personas",
    section: "personas",
    kind: "json",
    empty: [],
    label: "Personas",
    rows: 8,
    placeholder:
      '[{"key": "tutor", "name": "Tutor", "systemPrompt": "Explain step by step.", "model": null}]',
    help: 'A JSON list (at most 20): key (a-z, 0-9, _ or -), name, systemPrompt, and optionally model, temperature, knowledgeBaseIds, tools (built-in names). "[]": none.'
  },
  {
    name: "defaultPersona",
    section: "personas",
    kind: "text",
    label: "Default persona",
    nullable: true,
    placeholder: "None: the bot's own prompt",
    help: "The key of the persona every chat starts with."
  },
  {
    name: "personaLocked",
    section: "personas",
    kind: "checkbox",
    label: "Users cannot switch",
    help: "Every chat answers with the default persona; /mode says it is set by the admin."
  },
  {
    name: "tools",
    section: "conversations",
    kind: "names",
    label: "Built-in tools",
    pattern: String.raw`[\s,]*((current_time|fetch_url|generate_image|remember|forget)([\s,]+(current_time|fetch_url|generate_image|remember|forget))*)?[\s,]*`,
    placeholder: "e.g. current_time, fetch_url",
    help: "Tools the model may call, separated by commas: current_time, fetch_url, generate_image, remember, forget. The allowed tools of the bot's MCP servers are offered too."
  },
  {
    name: "mcpServerIds",
    section: "conversations",
    kind: "picks",
    label: "MCP servers",
    requires: "mcpServers",
    options: (choices) =>
      (choices.mcpServers ?? []).map((server) => ({ value: server.id, label: server.name })),
    none: "No MCP servers yet: add one on the MCP servers page.",
    help: "Their allowed tools are offered to the model with the built-in ones."
  },
  {
    name: "maxToolSteps",
    section: "conversations",
    kind: "number",
    label: "Tool steps per answer",
    help: "How many times the model may call tools before it must answer (0: no tools at all)."
  },
  {
    name: "timeZone",
    section: "conversations",
    kind: "text",
    label: "Time zone",
    placeholder: "UTC",
    help: "An IANA name such as Europe/Berlin: the current_time tool answers in it when the model names no zone."
  },
  {
    name: "access",
    section: "access",
    kind: "select",
    label: "Who may talk to the bot",
    options: [
      { value: "open", label: "Anyone" },
      { value: "allowlist", label: "Only the users and groups below" }
    ]
  },
  idsField("allowedUserIds", "Allowed users", "Telegram user ids let in when only listed users may talk."),
  idsField("allowedChatIds", "Allowed groups", "Telegram chat ids of groups whose members are all let in."),
  idsField("blockedUserIds", "Blocked users", "Always refused, even when anyone may talk to the bot."),
  {
    name: "deniedMessage",
    section: "access",
    kind: "textarea",
    label: "Refusal message",
    rows: 2,
    required: true,
    help: "What a refused user is told (at most once a day)."
  },
  limitField(
    "userMessagesPerMinute",
    "Messages per user per minute",
    "Messages a user may send to the model each minute."
  ),
  limitField(
    "userMessagesPerDay",
    "Messages per user per day",
    "Messages a user may send to the model each day."
  ),
  limitField(
    "userTokensPerDay",
    "Tokens per user per day",
    "Model tokens a user's replies may use each day."
  ),
  limitField(
    "userUsdPerMonth",
    "Spend per user per month (USD)",
    "What a user's replies may cost each month.",
    {
      usd: true
    }
  ),
  limitField(
    "botUsdPerMonth",
    "Spend of the bot per month (USD)",
    "What all users of the bot together may cost each month.",
    {
      usd: true
    }
  ),
  {
    name: "limitMessage",
    section: "access",
    kind: "textarea",
    label: "Limit message",
    rows: 2,
    required: true,
    help: "What a user over a limit is told; {limit} and {reset} are filled in."
  }
]

const getPath = (object, path) => path.split(".").reduce((value, key) => value?.[key], object)

const setPath = (object, path, value) => {
  const keys = path.split(".")
  const last = keys.pop()
  let target = object
  for (const key of keys) {
    target[key] ??= {}
    target = target[key]
  }
  target[last] = value
}

/** The field's current value as the input shows it. */
export const inputValue = (field, bot) => {
  const value = bot ? getPath(bot, field.name) : undefined
  if (value === null || value === undefined) return field.kind === "checkbox" ? false : ""
  if (field.kind === "ids" || field.kind === "names" || field.kind === "picks") return value.join(", ")
  if (field.kind === "json") return Object.keys(value).length === 0 ? "" : JSON.stringify(value, null, 2)
  return value
}

/** The input's content as the API wants it; undefined for "leave as it is". */
const readInput = (field, input) => {
  if (field.kind === "checkbox") return input.checked
  const raw = input.value
  if (field.kind === "number") return raw.trim() === "" ? (field.nullable ? null : undefined) : Number(raw)
  if (field.kind === "ids") return parseIds(raw)
  if (field.kind === "json") return parseJson(raw, field.empty) ?? raw
  if (field.kind === "names" || field.kind === "picks") return parseNames(raw)
  if (field.nullable && raw.trim() === "") return null
  return field.kind === "text" ? raw.trim() : raw
}

/** A list or object written as JSON; empty text is the field's `empty` ({} unless set); null when it does not parse. */
export const parseJson = (text, empty = {}) => {
  if (text.trim() === "") return empty
  try {
    return JSON.parse(text)
  } catch {
    return null
  }
}

/** "a, b c" → ["a", "b", "c"] */
export const parseNames = (text) => text.split(/[\s,]+/).filter(Boolean)

/** "1, 2 3" → [1, 2, 3] (the input's pattern keeps anything else out). */
export const parseIds = (text) =>
  text
    .split(/[\s,]+/)
    .filter(Boolean)
    .map(Number)

const same = (a, b) => JSON.stringify(a ?? null) === JSON.stringify(b ?? null)

// Picks are a set: the checkboxes' order is the options', not the stored list's.
const comparable = (field, value) =>
  field.kind === "picks" && Array.isArray(value) ? [...value].sort() : value

/**
 * The body for POST (no `bot`: every filled field) or PATCH (only what
 * changed; a nested object is sent whole when any of its fields changed).
 */
export const bodyFrom = (fields, inputs, bot) => {
  const body = {}
  const changedRoots = new Set()
  for (const field of fields) {
    const value = readInput(field, inputs.get(field.name))
    if (value === undefined) continue
    if (!bot) {
      if (value !== "" && value !== null) setPath(body, field.name, value)
      continue
    }
    if (!same(comparable(field, value), comparable(field, getPath(bot, field.name))))
      changedRoots.add(field.name.split(".")[0])
  }
  if (!bot) return body
  for (const root of changedRoots) {
    const nested = fields.filter((field) => field.name.split(".")[0] === root)
    if (nested.length === 1 && nested[0].name === root) {
      body[root] = readInput(nested[0], inputs.get(root))
      continue
    }
    body[root] = structuredClone(bot[root] ?? {})
    for (const field of nested) {
      const value = readInput(field, inputs.get(field.name))
      if (value !== undefined) setPath(body, field.name, value)
    }
  }
  return body
}
