/**
 * One knowledge base: its documents with their indexing state (refreshed
 * while any is waiting), adding a file or pasted text, and a search box that
 * shows what a question retrieves, with scores: the way to see why a bot
 * would answer as it does.
 */
import { api } from "../api.js"
import { append, h, replace } from "../dom.js"
import { count, dateTime } from "../format.js"
import { settingsForm } from "../knowledgeBaseSettings.js"
import { can } from "../roles.js"
import { actionButton, badge, dataTable, emptyState, errorNotice, loading, pageHeader, toast } from "../ui.js"

const back = { href: "/admin/knowledge", label: "Knowledge" }

const STATE_TONE = { pending: "neutral", indexing: "neutral", indexed: "good", failed: "bad" }

const progressOf = (document) =>
  document.state === "indexed" || document.embeddedChunks === 0
    ? count(document.chunks)
    : `${count(document.embeddedChunks)} / ${count(document.chunks)} embedded`

const documentRow = (base, document, operates, refresh) =>
  h(
    "tr",
    { dataset: { document: document.id } },
    h(
      "td",
      { class: "bot-cell" },
      h("span", { class: "row-title" }, document.name),
      h(
        "span",
        { class: "muted" },
        `${document.format} · ${document.source} · ${dateTime(document.createdAt)}`
      )
    ),
    h(
      "td",
      { "data-label": "State" },
      badge(document.state, STATE_TONE[document.state] ?? "neutral"),
      document.error ? h("p", { class: "muted" }, document.error) : null
    ),
    h("td", { "data-label": "Chunks", class: "num" }, progressOf(document)),
    h(
      "td",
      { "data-label": "Actions" },
      operates
        ? [
            actionButton("Re-index", async () => {
              await api.post(`/api/knowledge-bases/${base.id}/documents/${document.id}/reindex`)
              await refresh()
            }),
            " ",
            actionButton("Delete", async () => {
              await api.delete(`/api/knowledge-bases/${base.id}/documents/${document.id}`)
              toast(`${document.name} deleted`)
              await refresh()
            })
          ]
        : null
    )
  )

const addForms = (base, refresh) => {
  const file = h("input", { id: "kb-file", type: "file", accept: ".txt,.md,.markdown,.html,.htm,.pdf,.docx" })
  const uploadProblem = h("div", {})
  const upload = h("button", { class: "primary", type: "submit" }, "Upload")
  const uploadForm = h(
    "form",
    { class: "card form" },
    h("h2", {}, "Upload a document"),
    h(
      "div",
      { class: "field" },
      h("label", { for: "kb-file" }, "File"),
      file,
      h("p", { class: "help" }, "Plain text, Markdown, HTML, PDF or DOCX.")
    ),
    uploadProblem,
    upload
  )
  uploadForm.addEventListener("submit", async (event) => {
    event.preventDefault()
    const chosen = file.files?.[0]
    if (!chosen) return
    upload.disabled = true
    replace(uploadProblem)
    try {
      await api.upload(
        `/api/knowledge-bases/${base.id}/documents/upload?name=${encodeURIComponent(chosen.name)}`,
        chosen
      )
      file.value = ""
      toast(`${chosen.name} added: indexing`)
      await refresh()
    } catch (error) {
      replace(uploadProblem, errorNotice(error))
    }
    upload.disabled = false
  })

  const name = h("input", { id: "kb-text-name", maxlength: 200, required: true, autocomplete: "off" })
  const text = h("textarea", { id: "kb-text", rows: 6, required: true })
  const textProblem = h("div", {})
  const add = h("button", { type: "submit" }, "Add text")
  const textForm = h(
    "form",
    { class: "card form" },
    h("h2", {}, "Paste text"),
    h("div", { class: "field" }, h("label", { for: "kb-text-name" }, "Title"), name),
    h("div", { class: "field" }, h("label", { for: "kb-text" }, "Text (Markdown)"), text),
    textProblem,
    add
  )
  textForm.addEventListener("submit", async (event) => {
    event.preventDefault()
    add.disabled = true
    replace(textProblem)
    try {
      await api.post(`/api/knowledge-bases/${base.id}/documents`, {
        name: name.value.trim(),
        text: text.value,
        format: "markdown"
      })
      name.value = ""
      text.value = ""
      await refresh()
    } catch (error) {
      replace(textProblem, errorNotice(error))
    }
    add.disabled = false
  })
  return [uploadForm, textForm]
}

const passageOf = (passage, index) =>
  h(
    "li",
    { class: "card", dataset: { passage: String(index + 1) } },
    h(
      "p",
      {},
      h("strong", {}, passage.documentName),
      passage.section ? ` · ${passage.section}` : "",
      h(
        "span",
        { class: "muted" },
        ` · score ${passage.score.toFixed(4)}`,
        passage.fullText ? ` · full text #${passage.fullText.rank}` : " · full text –",
        passage.vector ? ` · vector #${passage.vector.rank}` : " · vector –"
      )
    ),
    h("p", { class: "passage" }, passage.text)
  )

const searchBox = (base) => {
  const question = h("input", { id: "kb-question", type: "search", required: true, maxlength: 2000 })
  const results = h("div", { "aria-live": "polite" })
  const submit = h("button", { class: "primary", type: "submit" }, "Search")
  const form = h(
    "form",
    { class: "card form", role: "search" },
    h("h2", {}, "Try a question"),
    h("div", { class: "field" }, h("label", { for: "kb-question" }, "Question"), question),
    submit
  )
  form.addEventListener("submit", async (event) => {
    event.preventDefault()
    submit.disabled = true
    try {
      const { passages } = await api.post(`/api/knowledge-bases/${base.id}/search`, {
        question: question.value
      })
      replace(
        results,
        passages.length === 0
          ? emptyState("Nothing found", "No passage matches this question well enough.", null)
          : h("ol", { class: "passages" }, passages.map(passageOf))
      )
    } catch (error) {
      replace(results, errorNotice(error))
    }
    submit.disabled = false
  })
  return [form, results]
}

const headerOf = (base) =>
  pageHeader(base.name, {
    back,
    subtitle: `${base.language} · ${base.embedding.model ? `embeddings: ${base.embedding.model}` : "full text only"} · chunks of ${base.chunking.maxChars} characters`
  })

export const render = async (container, { params, isActive, onLeave, session, features }) => {
  const documentsBody = h("div", {}, loading())
  const operates = can(session, "operate")
  let base
  let providers = []
  try {
    ;[base, providers] = await Promise.all([
      api.get(`/api/knowledge-bases/${params.id}`),
      operates && features.has("providers") ? api.get("/api/providers") : []
    ])
  } catch (error) {
    append(container, pageHeader("Knowledge base", { back }), errorNotice(error))
    return
  }
  if (!isActive()) return
  let timer = null
  onLeave(() => clearTimeout(timer))

  const refresh = async () => {
    clearTimeout(timer)
    let documents
    try {
      documents = await api.get(`/api/knowledge-bases/${base.id}/documents`)
    } catch (error) {
      replace(documentsBody, errorNotice(error))
      return
    }
    if (!isActive()) return
    replace(
      documentsBody,
      documents.length === 0
        ? emptyState("No documents yet", "Upload a file or paste text; it is indexed within seconds.", null)
        : dataTable(
            ["Document", "State", { label: "Chunks", num: true }, { hidden: "Actions" }],
            h(
              "tbody",
              {},
              documents.map((document) => documentRow(base, document, operates, refresh))
            )
          )
    )
    // While something is being indexed, look again shortly.
    if (documents.some((document) => document.state === "pending" || document.state === "indexing"))
      timer = setTimeout(refresh, 1500)
  }

  let header = headerOf(base)
  // Saved settings redraw the header; the documents may be pending again.
  const onSaved = async (saved) => {
    base = saved
    const fresh = headerOf(base)
    header.replaceWith(fresh)
    header = fresh
    await refresh()
  }
  append(
    container,
    header,
    h("h2", {}, "Documents"),
    documentsBody,
    operates ? addForms(base, refresh) : null,
    searchBox(base),
    operates ? settingsForm(base, { providers, onSaved }) : null
  )
  await refresh()
}
