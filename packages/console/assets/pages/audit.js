/**
 * The audit log (owners only): every change and every attempt a role did not
 * allow, newest first, by admin, action, object and time.
 */
import { api, query } from "../api.js"
import { append, h, replace } from "../dom.js"
import { dateTime } from "../format.js"
import { actionButton, badge, dataTable, emptyState, errorNotice, loading, pageHeader } from "../ui.js"

const PAGE_SIZE = 50

const rowOf = (entry) =>
  h(
    "tr",
    { dataset: { auditId: String(entry.id) } },
    h("td", { "data-label": "When" }, dateTime(entry.at)),
    h("td", { "data-label": "Who" }, entry.adminEmail ?? h("span", { class: "muted" }, "nobody signed in")),
    h("td", { "data-label": "Action" }, h("code", {}, entry.action)),
    h("td", { "data-label": "Object" }, entry.objectId ? h("code", {}, entry.objectId) : "–"),
    h(
      "td",
      { "data-label": "Outcome" },
      entry.outcome === "ok" ? badge("Done", "good") : badge("Refused", "bad")
    ),
    h("td", { "data-label": "Detail" }, entry.detail ?? ""),
    h("td", { "data-label": "From" }, entry.address)
  )

/** `datetime-local` (no zone) read as the browser's local time, as ISO. */
const isoOf = (local) => (local === "" ? undefined : new Date(local).toISOString())

export const render = async (container, { query: params, navigate }) => {
  const filters = {
    adminId: params.get("adminId") ?? "",
    action: params.get("action") ?? "",
    objectId: params.get("objectId") ?? "",
    from: params.get("from") ?? "",
    to: params.get("to") ?? ""
  }
  let admins = []
  try {
    admins = await api.get("/api/admins")
  } catch {
    // Removed admins are not listed anyway; the filter falls back to everyone.
  }
  const who = h(
    "select",
    { id: "filter-admin", name: "adminId" },
    h("option", { value: "" }, "Everyone"),
    admins.map((admin) => h("option", { value: admin.id }, admin.email))
  )
  who.value = filters.adminId
  const action = h("input", {
    id: "filter-action",
    name: "action",
    placeholder: "e.g. bot.disable",
    value: filters.action
  })
  const object = h("input", {
    id: "filter-object",
    name: "objectId",
    placeholder: "an id",
    value: filters.objectId
  })
  const from = h("input", { id: "filter-from", name: "from", type: "datetime-local" })
  const to = h("input", { id: "filter-to", name: "to", type: "datetime-local" })
  const form = h(
    "form",
    { class: "filters", role: "search" },
    h("div", { class: "field" }, h("label", { for: "filter-admin" }, "Admin"), who),
    h("div", { class: "field" }, h("label", { for: "filter-action" }, "Action"), action),
    h("div", { class: "field" }, h("label", { for: "filter-object" }, "Object id"), object),
    h("div", { class: "field" }, h("label", { for: "filter-from" }, "From"), from),
    h("div", { class: "field" }, h("label", { for: "filter-to" }, "Until"), to),
    h("button", { type: "submit", class: "secondary" }, "Filter")
  )
  form.addEventListener("submit", (event) => {
    event.preventDefault()
    navigate(
      `/admin/audit${query({
        adminId: who.value,
        action: action.value.trim(),
        objectId: object.value.trim(),
        from: isoOf(from.value) ?? (from.value === "" ? filters.from : undefined),
        to: isoOf(to.value) ?? (to.value === "" ? filters.to : undefined)
      })}`
    )
  })

  const list = h("div", {}, loading())
  const more = h("div", { class: "more" })
  append(
    container,
    pageHeader("Audit log", {
      subtitle: "Who changed what, from which address; refused attempts too. Newest first."
    }),
    form,
    list,
    more
  )

  const tbody = h("tbody", {})
  const load = async (cursor) => {
    const page = await api.get(`/api/audit${query({ ...filters, cursor, limit: PAGE_SIZE })}`)
    if (cursor === undefined) {
      replace(
        list,
        page.items.length === 0
          ? emptyState("Nothing recorded", "No entry matches these filters.")
          : dataTable(["When", "Who", "Action", "Object", "Outcome", "Detail", "From"], tbody)
      )
    }
    tbody.append(...page.items.map(rowOf))
    replace(
      more,
      page.nextCursor
        ? actionButton(
            "Load more",
            () => load(page.nextCursor).catch((error) => replace(more, errorNotice(error))),
            {
              class: "secondary"
            }
          )
        : null
    )
  }
  try {
    await load()
  } catch (error) {
    replace(list, errorNotice(error))
  }
}
