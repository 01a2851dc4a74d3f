/**
 * Admins (owners only): who can sign in and with which role; invite someone
 * with a one-time link (shown once, to copy), change a role, remove an admin.
 */
import { api } from "../api.js"
import { append, h, replace } from "../dom.js"
import { dateTime } from "../format.js"
import { roleDescriptions, roleLabels } from "../roles.js"
import { actionButton, confirmDialog, dataTable, errorNotice, loading, pageHeader, toast } from "../ui.js"

const ROLES = ["owner", "operator", "viewer"]

const roleSelect = (attributes, selected) => {
  const select = h(
    "select",
    attributes,
    ROLES.map((role) => h("option", { value: role }, `${roleLabels[role]}: ${roleDescriptions[role]}`))
  )
  select.value = selected
  return select
}

/** The link, once: the server keeps only its hash, so it cannot be shown again. */
const issuedLink = (issued) => {
  const link = `${location.origin}${issued.path}`
  const field = h("input", { id: "invitation-link", readonly: true, value: link, spellcheck: "false" })
  return h(
    "div",
    { class: "notice notice-good", role: "status" },
    h("strong", {}, `Invitation for ${issued.email} (${roleLabels[issued.role]})`),
    h(
      "p",
      {},
      `Send this link to them. It works once, until ${dateTime(issued.expiresAt)}, and is shown only now.`
    ),
    h(
      "div",
      { class: "field" },
      h("label", { for: "invitation-link" }, "Invitation link"),
      field,
      actionButton(
        "Copy link",
        async () => {
          field.select()
          try {
            await navigator.clipboard.writeText(link)
            toast("Link copied")
          } catch {
            toast("Copy it from the field: the browser did not allow it", "neutral")
          }
        },
        { class: "secondary small" }
      )
    )
  )
}

export const render = async (container, { session, isActive }) => {
  const list = h("div", { class: "admins-list" }, loading())
  const issued = h("div", {})
  const email = h("input", { id: "invite-email", name: "email", type: "email", required: true })
  const role = roleSelect({ id: "invite-role", name: "role" }, "operator")
  const problem = h("div", { class: "form-problem" })
  const submit = h("button", { type: "submit", class: "primary" }, "Invite")
  const form = h(
    "form",
    { class: "card form", "aria-label": "Invite an admin" },
    h("h2", {}, "Invite an admin"),
    h("div", { class: "field" }, h("label", { for: "invite-email" }, "Email"), email),
    h("div", { class: "field" }, h("label", { for: "invite-role" }, "Role"), role),
    problem,
    h("div", { class: "form-actions" }, submit)
  )

  const load = async () => {
    let admins
    try {
      admins = await api.get("/api/admins")
    } catch (error) {
      replace(list, errorNotice(error))
      return
    }
    if (!isActive()) return
    replace(
      list,
      dataTable(["Admin", "Role", "Since", { hidden: "Actions" }], h("tbody", {}, admins.map(rowOf)))
    )
  }

  const rowOf = (admin) => {
    const you = admin.id === session.id
    const select = roleSelect({ "aria-label": `Role of ${admin.email}`, class: "small" }, admin.role)
    select.addEventListener("change", async () => {
      try {
        const changed = await api.patch(`/api/admins/${admin.id}`, { role: select.value })
        toast(`${changed.email} is now ${roleLabels[changed.role].toLowerCase()}`)
        if (you && changed.role !== "owner") location.assign("/admin")
      } catch (error) {
        select.value = admin.role
        toast(error.message, "bad")
      }
    })
    return h(
      "tr",
      { dataset: { adminId: admin.id } },
      h(
        "td",
        { class: "bot-cell" },
        h("span", { class: "row-title" }, admin.email),
        you ? h("span", { class: "muted" }, "you") : null
      ),
      h("td", { "data-label": "Role" }, select),
      h("td", { "data-label": "Since" }, dateTime(admin.createdAt)),
      h(
        "td",
        { class: "actions" },
        actionButton(
          "Remove",
          async () => {
            const confirmed = await confirmDialog({
              title: `Remove ${admin.email}?`,
              text: "They are signed out at once and can no longer sign in. What they did stays in the audit log.",
              confirmLabel: "Remove"
            })
            if (!confirmed) return
            try {
              await api.delete(`/api/admins/${admin.id}`)
              toast(`${admin.email} removed`)
              await load()
            } catch (error) {
              toast(error.message, "bad")
            }
          },
          { class: "danger small", "aria-label": `Remove ${admin.email}` }
        )
      )
    )
  }

  form.addEventListener("submit", async (event) => {
    event.preventDefault()
    problem.replaceChildren()
    submit.disabled = true
    try {
      const invitation = await api.post("/api/admins/invitations", {
        email: email.value.trim(),
        role: role.value
      })
      replace(issued, issuedLink(invitation))
      email.value = ""
      issued.querySelector("input")?.focus()
    } catch (error) {
      problem.replaceChildren(errorNotice(error))
    } finally {
      submit.disabled = false
    }
  })

  append(
    container,
    pageHeader("Admins", {
      subtitle:
        "Who can sign in to this console. Owners manage admins, providers and alerts; operators run bots and chats; viewers read."
    }),
    list,
    h("div", { class: "split" }, form, h("div", { class: "side" }, issued))
  )
  await load()
}
