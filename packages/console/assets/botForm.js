/** The bot form: sections of labelled inputs built from botFields.js. */
import { botFields, botSections, inputValue, parseJson, parseNames } from "./botFields.js"
import { h } from "./dom.js"

/**
 * A checkbox per option, by name. An id the bot holds that the API did not list
 * (e.g. a base this admin cannot see) stays ticked under its id, so a save
 * does not drop it unnoticed.
 */
const picksFor = (field, bot, id, choices) => {
  const held = parseNames(String(inputValue(field, bot)))
  const options = field.options(choices)
  const known = new Set(options.map((option) => option.value))
  const all = [
    ...options,
    ...held.filter((value) => !known.has(value)).map((value) => ({ value, label: value }))
  ]
  const boxes = all.map((option, index) => {
    const boxId = `${id}-${index}`
    const box = h("input", { id: boxId, type: "checkbox", value: option.value })
    box.checked = held.includes(option.value)
    return h("div", { class: "field-check" }, box, h("label", { for: boxId }, option.label))
  })
  const group = h(
    "div",
    { id, role: "group", tabindex: "-1", "aria-labelledby": `${id}-label`, class: "picks" },
    boxes.length === 0 ? h("p", { class: "muted" }, field.none ?? "Nothing to choose yet.") : boxes
  )
  // The form reads every input through `.value`; here it is the ticked ids.
  Object.defineProperty(group, "value", {
    get: () => [...group.querySelectorAll("input:checked")].map((box) => box.value).join(", ")
  })
  return group
}

const inputFor = (field, bot, id, choices) => {
  const common = { id, name: field.name, required: field.required ?? false }
  // The API's own limits for this field (from /openapi.json); none when the server did not say.
  const limits = choices.limits?.get(field.name) ?? {}
  if (field.kind === "json") {
    const textarea = h("textarea", { ...common, rows: field.rows ?? 4, spellcheck: "false" })
    textarea.placeholder = field.placeholder ?? ""
    textarea.value = inputValue(field, bot)
    // The browser holds back the form and says why, before anything is sent.
    const check = () =>
      textarea.setCustomValidity(parseJson(textarea.value) === null ? "This is not valid JSON." : "")
    textarea.addEventListener("input", check)
    check()
    return textarea
  }
  if (field.kind === "textarea") {
    const textarea = h("textarea", { ...common, rows: field.rows ?? 4, maxlength: limits.maxLength })
    textarea.value = inputValue(field, bot)
    return textarea
  }
  if (field.kind === "select") {
    const select = h(
      "select",
      common,
      (typeof field.options === "function" ? field.options(choices) : field.options).map((option) =>
        h("option", { value: option.value }, option.label)
      )
    )
    select.value = inputValue(field, bot)
    return select
  }
  if (field.kind === "picks") return picksFor(field, bot, id, choices)
  if (field.kind === "checkbox") {
    const box = h("input", { ...common, type: "checkbox" })
    box.checked = Boolean(inputValue(field, bot))
    return box
  }
  return h("input", {
    ...common,
    type: field.kind === "number" ? "number" : "text",
    inputmode: field.kind === "ids" ? "numeric" : null,
    min: limits.min,
    max: limits.max,
    step: field.step,
    pattern: field.pattern,
    title: field.kind === "ids" ? "Numbers separated by commas or spaces" : null,
    maxlength: limits.maxLength,
    placeholder: typeof field.placeholder === "function" ? field.placeholder(bot) : field.placeholder,
    value: inputValue(field, bot),
    autocomplete: "off"
  })
}

const fieldRow = (field, input, id) => {
  const helpId = `${id}-help`
  if (field.help) input.setAttribute("aria-describedby", helpId)
  const help = field.help ? h("p", { class: "help", id: helpId }, field.help) : null
  if (field.kind === "picks") {
    return h(
      "div",
      { class: "field" },
      h("span", { class: "label", id: `${id}-label` }, field.label),
      input,
      help
    )
  }
  if (field.kind === "checkbox") {
    return h("div", { class: "field field-check" }, input, h("label", { for: id }, field.label), help)
  }
  return h("div", { class: "field" }, h("label", { for: id }, field.label), input, help)
}

/**
 * Sections of fields for `bot` (null: a new bot, only the `onCreate` fields).
 * `extra` adds more fields (e.g. the token) at the end of a section.
 * `choices`: `features` (fields that `require` a missing one are left out),
 * what dynamic selects and picks list (`providers`, `mcpServers`, `knowledgeBases`) and the fields' `limits`
 * (capabilities.js `botFieldLimits`).
 */
export const botFormSections = (bot, extra = {}, choices = {}) => {
  const fields = (bot ? botFields : botFields.filter((field) => field.onCreate)).filter(
    (field) => !field.requires || choices.features?.has(field.requires)
  )
  const inputs = new Map()
  const sections = botSections
    .map((section) => {
      const rows = fields
        .filter((field) => field.section === section.id)
        .map((field) => {
          const id = `bot-${field.name.replaceAll(".", "-")}`
          const input = inputFor(field, bot, id, choices)
          inputs.set(field.name, input)
          return fieldRow(field, input, id)
        })
      const more = extra[section.id] ?? []
      if (rows.length + more.length === 0) return null
      return h(
        "fieldset",
        { class: "form-section" },
        h("legend", {}, section.title),
        h("p", { class: "section-text" }, section.text),
        h("div", { class: "fields" }, rows, more)
      )
    })
    .filter(Boolean)
  return { fields, inputs, sections }
}

/** Which input an API error is about: the field path of a 400, or the field a conflict names. */
const FIELD_OF_CODE = {
  name_taken: "name",
  token_in_use: "token",
  invalid_token: "token",
  unknown_provider: "providerId"
}

/**
 * Marks the input the error is about (red, `aria-invalid`) and moves focus to
 * it, so the person lands where the fix is. Returns a function that clears it.
 */
export const markInvalidField = (inputs, error) => {
  const path = FIELD_OF_CODE[error.code] ?? /^body\.([\w.]+)/.exec(error.message ?? "")?.[1]
  // A path inside a field (texts.es.start) marks the field that holds it.
  const keys = path?.split(".") ?? []
  const name = keys
    .map((_, index) => keys.slice(0, keys.length - index).join("."))
    .find((key) => inputs.has(key))
  const input = name ? inputs.get(name) : undefined
  if (!input) return () => {}
  input.setAttribute("aria-invalid", "true")
  input.focus()
  return () => input.removeAttribute("aria-invalid")
}
