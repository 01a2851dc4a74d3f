/**
 * A knowledge base's settings as a form: name, language, chunking and
 * embedding, as PATCH /api/knowledge-bases/:id takes them. Only what changed
 * is sent, because a new language, chunking or embedding re-indexes every
 * document while a new name does not.
 */
import { api } from "./api.js"
import { h, replace } from "./dom.js"
import { errorNotice, toast } from "./ui.js"

/** The text search configurations offered first; a base's own is always offered too. */
export const LANGUAGES = [
  "simple",
  "english",
  "german",
  "french",
  "spanish",
  "italian",
  "portuguese",
  "dutch",
  "russian"
]

const field = (id, label, input, help) => {
  if (help) input.setAttribute("aria-describedby", `${id}-help`)
  return h(
    "div",
    { class: "field" },
    h("label", { for: id }, label),
    input,
    help ? h("p", { class: "help", id: `${id}-help` }, help) : null
  )
}

const numberOrNull = (text) => (text.trim() === "" ? null : Number(text))

/** What differs from `base`, as the PATCH body (an empty object: nothing changed). */
const changesOf = (base, values) => {
  const body = {}
  if (values.name !== base.name) body.name = values.name
  if (values.language !== base.language) body.language = values.language
  if (
    values.chunking.maxChars !== base.chunking.maxChars ||
    values.chunking.overlapChars !== base.chunking.overlapChars
  )
    body.chunking = values.chunking
  const embedding = base.embedding
  if (
    values.embedding.model !== embedding.model ||
    values.embedding.dimensions !== embedding.dimensions ||
    values.embedding.providerId !== embedding.providerId
  )
    body.embedding = values.embedding
  return body
}

/** The settings form; `onSaved(base)` gets the base as the API returned it. */
export const settingsForm = (base, { providers = [], onSaved }) => {
  const name = h("input", { id: "kb-edit-name", required: true, maxlength: 64, autocomplete: "off" })
  name.value = base.name
  const languages = LANGUAGES.includes(base.language) ? LANGUAGES : [base.language, ...LANGUAGES]
  const language = h(
    "select",
    { id: "kb-edit-language" },
    languages.map((value) => h("option", { value }, value))
  )
  language.value = base.language
  const maxChars = h("input", {
    id: "kb-edit-max-chars",
    type: "number",
    required: true,
    min: 200,
    max: 8000
  })
  maxChars.value = String(base.chunking.maxChars)
  const overlapChars = h("input", {
    id: "kb-edit-overlap",
    type: "number",
    required: true,
    min: 0,
    max: 2000
  })
  overlapChars.value = String(base.chunking.overlapChars)
  const model = h("input", {
    id: "kb-edit-model",
    maxlength: 200,
    autocomplete: "off",
    placeholder: "Empty: full text only"
  })
  model.value = base.embedding.model ?? ""
  const dimensions = h("input", {
    id: "kb-edit-dimensions",
    type: "number",
    min: 8,
    max: 4096,
    placeholder: "The model's own"
  })
  dimensions.value = base.embedding.dimensions === null ? "" : String(base.embedding.dimensions)
  const provider = h(
    "select",
    { id: "kb-edit-provider" },
    h("option", { value: "" }, "Server default (OPENAI_BASE_URL)"),
    providers.map((one) => h("option", { value: one.id }, one.name))
  )
  provider.value = base.embedding.providerId ?? ""

  // The base as last saved: what the next save compares against.
  let current = base
  const problem = h("div", {})
  const save = h("button", { class: "primary", type: "submit" }, "Save settings")
  const form = h(
    "form",
    { class: "card form", "aria-label": "Knowledge base settings" },
    h("h2", {}, "Settings"),
    field("kb-edit-name", "Base name", name),
    field("kb-edit-language", "Text search language", language),
    field("kb-edit-max-chars", "Chunk size (characters)", maxChars),
    field("kb-edit-overlap", "Chunk overlap (characters)", overlapChars),
    field("kb-edit-model", "Embedding model", model),
    field("kb-edit-dimensions", "Embedding dimensions", dimensions, "Fewer, for models that allow it."),
    providers.length > 0 ? field("kb-edit-provider", "Embedding provider", provider) : null,
    h(
      "p",
      { class: "help" },
      "A new language, chunking or embedding indexes every document again; a new name does not."
    ),
    problem,
    save
  )
  form.addEventListener("submit", async (event) => {
    event.preventDefault()
    replace(problem)
    const body = changesOf(current, {
      name: name.value.trim(),
      language: language.value,
      chunking: { maxChars: Number(maxChars.value), overlapChars: Number(overlapChars.value) },
      embedding: {
        model: model.value.trim() === "" ? null : model.value.trim(),
        dimensions: numberOrNull(dimensions.value),
        // Without a provider list the select is not shown: the stored provider stays.
        providerId:
          providers.length === 0
            ? current.embedding.providerId
            : provider.value === ""
              ? null
              : provider.value
      }
    })
    if (Object.keys(body).length === 0) {
      toast("Nothing to save: no setting changed", "neutral")
      return
    }
    save.disabled = true
    try {
      current = await api.patch(`/api/knowledge-bases/${base.id}`, body)
      toast("Saved")
      onSaved(current)
    } catch (error) {
      replace(problem, errorNotice(error))
    }
    save.disabled = false
  })
  return form
}
