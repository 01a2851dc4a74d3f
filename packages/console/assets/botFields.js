/**
 * Every editable field of a bot, as the bot form shows it. A new API field is
 * one more entry here: `name` is the API's field (a dotted path for nested
 * objects, e.g. "limits.userMessagesPerDay"), `kind` picks the input.
 *
 * kinds: text, textarea, number, select (`options`), checkbox, ids (a list of
 * numbers written comma-separated). `nullable`: an empty input sends null.
 * `onCreate`: also asked when adding a bot (the rest keep the server's defaults).
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
  }
]

export const botFields = [
  {
    name: "name",
    section: "basics",
    kind: "text",
    label: "Name",
    required: true,
    maxLength: 64,
    onCreate: true
  },
  {
    name: "model",
    section: "model",
    kind: "text",
    label: "Model",
    nullable: true,
    maxLength: 200,
    onCreate: true,
    placeholder: (bot) => (bot ? `Server default (${bot.effectiveModel})` : "Server default (OPENAI_MODEL)"),
    help: "Leave empty to use the server's default model."
  },
  {
    name: "historyLimit",
    section: "model",
    kind: "number",
    label: "History",
    min: 0,
    max: 200,
    help: "How many earlier messages of the chat go to the model with each question (0–200)."
  },
  {
    name: "systemPrompt",
    section: "texts",
    kind: "textarea",
    label: "System prompt",
    rows: 8,
    maxLength: 20_000,
    onCreate: true,
    help: "Instructions the model gets before every conversation: role, tone, what to avoid."
  },
  {
    name: "startMessage",
    section: "texts",
    kind: "textarea",
    label: "Start message",
    rows: 3,
    maxLength: 4096,
    help: "The answer to /start."
  },
  {
    name: "helpMessage",
    section: "texts",
    kind: "textarea",
    label: "Help message",
    rows: 3,
    maxLength: 4096,
    help: "The answer to /help."
  },
  {
    name: "errorMessage",
    section: "texts",
    kind: "textarea",
    label: "Error message",
    rows: 2,
    maxLength: 4096,
    help: "What the user gets when a reply fails."
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
  if (field.kind === "ids") return value.join(", ")
  return value
}

/** The input's content as the API wants it; undefined for "leave as it is". */
const readInput = (field, input) => {
  if (field.kind === "checkbox") return input.checked
  const raw = input.value
  if (field.kind === "number") return raw.trim() === "" ? (field.nullable ? null : undefined) : Number(raw)
  if (field.kind === "ids") {
    return raw
      .split(/[\s,]+/)
      .filter(Boolean)
      .map(Number)
  }
  if (field.nullable && raw.trim() === "") return null
  return field.kind === "text" ? raw.trim() : raw
}

const same = (a, b) => JSON.stringify(a ?? null) === JSON.stringify(b ?? null)

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
    if (!same(value, getPath(bot, field.name))) changedRoots.add(field.name.split(".")[0])
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
