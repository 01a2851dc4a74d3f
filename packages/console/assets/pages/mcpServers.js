/**
 * MCP servers: remote tools bots may call. Adding one asks the server for
 * its tools before anything is stored; header values are never shown, only
 * their last four characters.
 */
import { api } from "../api.js"
import { append, h, replace } from "../dom.js"
import { can } from "../roles.js"
import { dataTable, emptyState, errorNotice, loading, pageHeader, toast } from "../ui.js"

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

const rowOf = (server) =>
  h(
    "tr",
    { dataset: { mcpServer: server.id } },
    h(
      "td",
      { class: "bot-cell" },
      h("a", { class: "row-title", href: `/admin/mcp-servers/${server.id}` }, server.name),
      h("span", { class: "muted" }, server.url)
    ),
    h("td", { "data-label": "Tools" }, `${server.allowedTools.length} of ${server.tools.length} allowed`),
    h(
      "td",
      { "data-label": "Headers" },
      Object.keys(server.headerHints).length === 0
        ? h("span", { class: "muted" }, "none")
        : Object.entries(server.headerHints).map(([name, hint], index) => [
            index > 0 ? ", " : null,
            h("code", {}, `${name}: ${hint}`)
          ])
    )
  )

/** "Authorization: Bearer …" per line → { Authorization: "Bearer …" }. */
const parseHeaders = (text) => {
  const headers = {}
  for (const line of text.split("\n")) {
    if (line.trim() === "") continue
    const colon = line.indexOf(":")
    if (colon <= 0) return { error: `"${line.trim()}" is not Name: value` }
    headers[line.slice(0, colon).trim()] = line.slice(colon + 1).trim()
  }
  return { headers }
}

const addForm = (navigate) => {
  const inputs = {
    name: h("input", { id: "mcp-name", required: true, maxlength: 64, autocomplete: "off" }),
    url: h("input", {
      id: "mcp-url",
      type: "url",
      required: true,
      maxlength: 2000,
      autocomplete: "off",
      spellcheck: "false",
      placeholder: "https://mcp.example.com/mcp"
    }),
    headers: h("textarea", {
      id: "mcp-headers",
      rows: 2,
      spellcheck: "false",
      autocomplete: "off",
      placeholder: "Authorization: Bearer …"
    }),
    timeoutSeconds: h("input", { id: "mcp-timeout", type: "number", min: 1, max: 300, value: 30 })
  }
  const problem = h("div", { class: "form-problem" })
  const submit = h("button", { type: "submit", class: "primary" }, "Add and test the connection")
  const form = h(
    "form",
    { class: "card form narrow-form", "aria-label": "Add an MCP server" },
    h(
      "fieldset",
      { class: "form-section" },
      h("legend", {}, "Add a server"),
      h(
        "div",
        { class: "fields" },
        field("mcp-name", "Name", inputs.name, "How bots' settings name it; unique."),
        field("mcp-url", "URL", inputs.url, "The Streamable HTTP endpoint of the server."),
        field(
          "mcp-headers",
          "Headers",
          inputs.headers,
          "One Name: value per line, e.g. an Authorization bearer. Stored encrypted, never shown again."
        ),
        field("mcp-timeout", "Timeout (seconds)", inputs.timeoutSeconds, "Per request to the server.")
      )
    ),
    problem,
    h("div", { class: "form-actions" }, submit)
  )
  form.addEventListener("submit", async (event) => {
    event.preventDefault()
    problem.replaceChildren()
    const parsed = parseHeaders(inputs.headers.value)
    if (parsed.error) {
      problem.replaceChildren(errorNotice({ message: parsed.error, code: "invalid_headers" }))
      return
    }
    const body = {
      name: inputs.name.value.trim(),
      url: inputs.url.value.trim(),
      timeoutSeconds: Number(inputs.timeoutSeconds.value),
      ...(Object.keys(parsed.headers).length === 0 ? {} : { headers: parsed.headers })
    }
    submit.disabled = true
    submit.textContent = "Asking the server for its tools…"
    try {
      const saved = await api.post("/api/mcp-servers", body)
      toast(`${saved.name} added: ${saved.tools.length} tools`)
      navigate(`/admin/mcp-servers/${saved.id}`)
    } catch (failure) {
      problem.replaceChildren(errorNotice(failure))
      submit.disabled = false
      submit.textContent = "Add and test the connection"
    }
  })
  return form
}

export const render = async (container, { isActive, session, navigate }) => {
  const owns = can(session, "own")
  const body = h("div", {}, loading())
  append(
    container,
    pageHeader("MCP servers", {
      subtitle:
        "Remote tools over the Model Context Protocol. Bots may call only the tools allowed here, of the servers their settings attach."
    }),
    body
  )
  let servers
  try {
    servers = await api.get("/api/mcp-servers")
  } catch (error) {
    replace(body, errorNotice(error))
    return
  }
  if (!isActive()) return
  const list =
    servers.length === 0
      ? emptyState("No MCP servers yet", "Add one to let bots look things up or act on other systems.")
      : dataTable(["Server", "Tools", "Headers"], h("tbody", {}, servers.map(rowOf)))
  replace(body, list, owns ? addForm(navigate) : null)
}
