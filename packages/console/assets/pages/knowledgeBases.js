/**
 * Knowledge bases: documents bots answer from. The list, with how many
 * documents and chunks each holds, and a form to add one.
 */
import { api } from "../api.js"
import { append, h, replace } from "../dom.js"
import { count } from "../format.js"
import { LANGUAGES } from "../knowledgeBaseSettings.js"
import { can } from "../roles.js"
import { dataTable, emptyState, errorNotice, loading, pageHeader } from "../ui.js"

const rowOf = (base) =>
  h(
    "tr",
    { dataset: { knowledgeBase: base.id } },
    h(
      "td",
      { class: "bot-cell" },
      h("a", { class: "row-title", href: `/admin/knowledge/${base.id}` }, base.name),
      h(
        "span",
        { class: "muted" },
        base.embedding.model ? `embeddings: ${base.embedding.model}` : "full text only"
      )
    ),
    h("td", { "data-label": "Language" }, base.language),
    h("td", { "data-label": "Documents", class: "num" }, count(base.documents)),
    h("td", { "data-label": "Chunks", class: "num" }, count(base.chunks))
  )

const createForm = (navigate) => {
  const name = h("input", { id: "kb-name", required: true, maxlength: 64, autocomplete: "off" })
  const language = h(
    "select",
    { id: "kb-language" },
    LANGUAGES.map((value) => h("option", { value }, value))
  )
  const model = h("input", {
    id: "kb-model",
    maxlength: 200,
    autocomplete: "off",
    placeholder: "text-embedding-3-small (empty: full text only)"
  })
  const problem = h("div", {})
  const submit = h("button", { class: "primary", type: "submit" }, "Add knowledge base")
  const form = h(
    "form",
    { class: "card form" },
    h("h2", {}, "Add a knowledge base"),
    h("div", { class: "field" }, h("label", { for: "kb-name" }, "Name"), name),
    h("div", { class: "field" }, h("label", { for: "kb-language" }, "Language"), language),
    h("div", { class: "field" }, h("label", { for: "kb-model" }, "Embedding model"), model),
    problem,
    submit
  )
  form.addEventListener("submit", async (event) => {
    event.preventDefault()
    submit.disabled = true
    try {
      const created = await api.post("/api/knowledge-bases", {
        name: name.value.trim(),
        language: language.value,
        ...(model.value.trim() === "" ? {} : { embedding: { model: model.value.trim() } })
      })
      navigate(`/admin/knowledge/${created.id}`)
    } catch (error) {
      replace(problem, errorNotice(error))
      submit.disabled = false
    }
  })
  return form
}

export const render = async (container, { isActive, session, navigate }) => {
  const body = h("div", {}, loading())
  append(
    container,
    pageHeader("Knowledge", {
      subtitle:
        "Documents bots answer from, searched by full text and, with an embedding model, by meaning. Open one to add documents and try a question."
    }),
    body
  )
  let bases
  try {
    bases = await api.get("/api/knowledge-bases")
  } catch (error) {
    replace(body, errorNotice(error))
    return
  }
  if (!isActive()) return
  const form = can(session, "operate") ? createForm(navigate) : null
  replace(
    body,
    bases.length === 0
      ? emptyState("No knowledge bases yet", "Add one, then upload the documents its bots should know.", null)
      : dataTable(
          ["Knowledge base", "Language", { label: "Documents", num: true }, { label: "Chunks", num: true }],
          h("tbody", {}, bases.map(rowOf))
        ),
    form
  )
}
