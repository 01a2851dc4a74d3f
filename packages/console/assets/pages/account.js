/**
 * The signed-in admin's own account: change the password (which signs out
 * every other session) and see where they are signed in, ending any session
 * but this one.
 */
import { api } from "../api.js"
import { append, h, replace } from "../dom.js"
import { ago, dateTime } from "../format.js"
import {
  actionButton,
  badge,
  confirmDialog,
  dataTable,
  errorNotice,
  loading,
  pageHeader,
  toast
} from "../ui.js"

/** As the API's rule for new passwords (register, change password). */
const MIN_PASSWORD = 12

const field = (id, label, input, help) =>
  h(
    "div",
    { class: "field" },
    h("label", { for: id }, label),
    input,
    help ? h("p", { class: "help", id: `${id}-help` }, help) : null
  )

const passwordInput = (id, autocomplete, extra = {}) =>
  h("input", { id, name: id, type: "password", autocomplete, required: true, maxlength: 1024, ...extra })

const plural = (count, one, many) => `${count} ${count === 1 ? one : many}`

const passwordForm = (onChanged) => {
  const current = passwordInput("current-password", "current-password")
  const next = passwordInput("new-password", "new-password", {
    minlength: MIN_PASSWORD,
    "aria-describedby": "new-password-help"
  })
  const confirm = passwordInput("confirm-password", "new-password")
  const problem = h("div", { class: "form-problem" })
  const submit = h("button", { type: "submit", class: "primary" }, "Change password")
  const form = h(
    "form",
    { class: "card form narrow-form", "aria-label": "Change password" },
    h(
      "fieldset",
      { class: "form-section" },
      h("legend", {}, "Password"),
      h(
        "p",
        { class: "section-text" },
        "Changing it signs you out everywhere else; this browser stays signed in."
      ),
      h(
        "div",
        { class: "fields" },
        field("current-password", "Current password", current),
        field("new-password", "New password", next, `At least ${MIN_PASSWORD} characters.`),
        field("confirm-password", "Repeat the new password", confirm)
      )
    ),
    problem,
    h("div", { class: "form-actions" }, submit)
  )
  confirm.addEventListener("input", () => confirm.setCustomValidity(""))
  form.addEventListener("submit", async (event) => {
    event.preventDefault()
    problem.replaceChildren()
    if (confirm.value !== next.value) {
      confirm.setCustomValidity("The two new passwords differ.")
      confirm.reportValidity()
      return
    }
    submit.disabled = true
    try {
      const result = await api.post("/api/auth/password", {
        currentPassword: current.value,
        newPassword: next.value
      })
      form.reset()
      toast(
        result.otherSessionsEnded === 0
          ? "Password changed"
          : `Password changed; ${plural(result.otherSessionsEnded, "other session", "other sessions")} signed out`
      )
      await onChanged()
    } catch (error) {
      problem.replaceChildren(errorNotice(error))
      if (error.code === "invalid_credentials") current.select()
    } finally {
      submit.disabled = false
    }
  })
  return form
}

/** The address and user agent at sign-in, as sent (a hint for the admin, not proof). */
const device = (session) =>
  [session.clientAddress, session.userAgent].filter(Boolean).join(" · ") || "unknown"

const sessionRow = (session, onEnded) =>
  h(
    "tr",
    { dataset: { session: session.id } },
    h(
      "td",
      {},
      h(
        "div",
        { class: "session-where" },
        h("span", { class: "row-title" }, session.clientAddress ?? "Unknown address"),
        session.userAgent ? h("span", { class: "muted small-text session-agent" }, session.userAgent) : null,
        session.current ? badge("This browser", "good") : null
      )
    ),
    h("td", { "data-label": "Signed in" }, dateTime(session.createdAt)),
    h(
      "td",
      { "data-label": "Last active" },
      h("span", { title: dateTime(session.lastSeenAt) }, session.current ? "now" : ago(session.lastSeenAt))
    ),
    h("td", { "data-label": "Expires" }, dateTime(session.expiresAt)),
    h(
      "td",
      { class: "num" },
      session.current
        ? null
        : actionButton(
            "End",
            async () => {
              const confirmed = await confirmDialog({
                title: "End this session?",
                text: `Whoever uses it (${device(session)}) is signed out at their next request.`,
                confirmLabel: "End session"
              })
              if (!confirmed) return
              try {
                await api.delete(`/api/auth/sessions/${session.id}`)
                toast("Session ended")
                await onEnded()
              } catch (error) {
                toast(error.message, "bad")
              }
            },
            { class: "secondary small", "aria-label": `End the session from ${device(session)}` }
          )
    )
  )

export const render = async (container, { session, isActive }) => {
  const sessionsBody = h("div", {}, loading())
  const drawSessions = async () => {
    let sessions
    try {
      sessions = (await api.get("/api/auth/sessions")).items
    } catch (error) {
      replace(sessionsBody, errorNotice(error))
      return
    }
    if (!isActive()) return
    replace(
      sessionsBody,
      dataTable(
        ["Where", "Signed in", "Last active", "Expires", { hidden: "Actions" }],
        h(
          "tbody",
          {},
          sessions.map((item) => sessionRow(item, drawSessions))
        )
      )
    )
  }
  append(
    container,
    pageHeader("Account", { subtitle: `Signed in as ${session.email}.` }),
    h(
      "div",
      { class: "stack-lg" },
      passwordForm(drawSessions),
      h(
        "section",
        { "aria-labelledby": "sessions-title" },
        h("h2", { id: "sessions-title" }, "Sessions"),
        h(
          "p",
          { class: "section-text" },
          "Where you are signed in. A session ends after 7 days, or sooner when left unused (SESSION_IDLE_MINUTES)."
        ),
        sessionsBody
      )
    )
  )
  await drawSessions()
}
