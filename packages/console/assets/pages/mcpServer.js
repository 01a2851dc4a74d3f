/**
 * One MCP server: its tools as the server last listed them, each allowed or
 * not for bots; "Test the connection" asks the server again. Owners change
 * it; everyone else reads.
 */
import { api } from "../api.js"
import { h, replace } from "../dom.js"
import { can } from "../roles.js"
import { actionButton, confirmDialog, dataTable, errorNotice, loading, pageHeader, toast } from "../ui.js"

const back = { href: "/admin/mcp-servers", label: "MCP servers" }

const when = (iso) => (iso ? new Date(iso).toLocaleString() : "never")

export const render = async (container, { params, navigate, isActive, session }) => {
  const owns = can(session, "own")
  replace(container, loading())
  let server
  try {
    server = await api.get(`/api/mcp-servers/${params.id}`)
  } catch (error) {
    replace(container, pageHeader("MCP server", { back }), errorNotice(error))
    return
  }
  if (!isActive()) return
  const problem = h("div", { class: "form-problem" })

  const show = () => {
    const toolRow = (tool) => {
      const toggle = h("input", {
        type: "checkbox",
        checked: tool.allowed,
        disabled: !owns,
        "aria-label": `Allow ${tool.name}`
      })
      toggle.addEventListener("change", async () => {
        const allowed = toggle.checked
          ? [...server.allowedTools, tool.name]
          : server.allowedTools.filter((name) => name !== tool.name)
        toggle.disabled = true
        problem.replaceChildren()
        try {
          server = await api.patch(`/api/mcp-servers/${server.id}`, { allowedTools: allowed })
          toast(toggle.checked ? `${tool.name} allowed` : `${tool.name} denied`)
          show()
        } catch (failure) {
          toggle.checked = !toggle.checked
          toggle.disabled = false
          problem.replaceChildren(errorNotice(failure))
        }
      })
      return h(
        "tr",
        { dataset: { tool: tool.name } },
        h(
          "td",
          { class: "bot-cell" },
          h("code", { class: "row-title" }, tool.name),
          tool.title ? h("span", { class: "muted" }, tool.title) : null
        ),
        h("td", { "data-label": "Description" }, tool.description ?? "–"),
        h("td", { "data-label": "Allowed" }, h("label", {}, toggle, tool.allowed ? " allowed" : " denied"))
      )
    }

    const test = actionButton("Test the connection", async () => {
      problem.replaceChildren()
      try {
        server = await api.post(`/api/mcp-servers/${server.id}/refresh`, {})
        toast(`Connected: ${server.tools.length} tools`)
        show()
      } catch (failure) {
        problem.replaceChildren(errorNotice(failure))
      }
    })
    const remove = actionButton(
      "Delete server",
      async () => {
        const confirmed = await confirmDialog({
          title: `Delete ${server.name}?`,
          text: "Its headers are forgotten. Bots must be detached from it first.",
          confirmLabel: "Delete"
        })
        if (!confirmed) return
        problem.replaceChildren()
        try {
          await api.delete(`/api/mcp-servers/${server.id}`)
          toast(`${server.name} deleted`)
          navigate("/admin/mcp-servers")
        } catch (failure) {
          problem.replaceChildren(errorNotice(failure))
        }
      },
      { class: "danger" }
    )
    const headers = Object.entries(server.headerHints)
    replace(
      container,
      pageHeader(server.name, {
        back,
        subtitle: `${server.url} · timeout ${server.timeoutSeconds} s · headers: ${
          headers.length === 0 ? "none" : headers.map(([name, hint]) => `${name} ${hint}`).join(", ")
        } · tools listed ${when(server.toolsRefreshedAt)}`,
        actions: owns ? [test, remove] : null
      }),
      problem,
      server.tools.length === 0
        ? h("p", { class: "muted" }, "The server lists no tools.")
        : dataTable(["Tool", "Description", "Bots may call it"], h("tbody", {}, server.tools.map(toolRow)))
    )
  }
  show()
}
