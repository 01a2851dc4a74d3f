/** Shared pieces of every page: headers, notices, empty states, badges, dialogs, toasts. */
import { h } from "./dom.js"

export const pageHeader = (title, { subtitle, actions, back } = {}) => {
  document.title = `${title} · Botfleet`
  return h(
    "header",
    { class: "page-header" },
    h(
      "div",
      { class: "page-title" },
      back ? h("a", { class: "back-link", href: back.href }, `← ${back.label}`) : null,
      h("h1", { tabindex: "-1" }, title),
      subtitle ? h("p", { class: "subtitle" }, subtitle) : null
    ),
    actions ? h("div", { class: "page-actions" }, actions) : null
  )
}

/** The API's messages start in lower case; on screen they are sentences. */
export const sentence = (text) => (text ? text[0].toUpperCase() + text.slice(1) : text)

/** An API error shown in place: what went wrong, in the API's words, with its code. */
export const errorNotice = (error) =>
  h(
    "div",
    { class: "notice notice-error", role: "alert" },
    h("strong", {}, sentence(error.message)),
    error.code && error.code !== "network_error" ? h("span", { class: "code" }, error.code) : null
  )

export const emptyState = (title, text, action) =>
  h("div", { class: "empty" }, h("h2", {}, title), h("p", {}, text), action ?? null)

export const loading = (label = "Loading…") => h("p", { class: "loading", role: "status" }, label)

export const badge = (text, tone = "neutral") => h("span", { class: `badge badge-${tone}` }, text)

export const botStatus = (bot) =>
  bot.active
    ? badge("Active", "good")
    : bot.lastError
      ? badge("Stopped", "bad")
      : badge("Disabled", "neutral")

/** A button that shows it is busy and can't be pressed twice while `action` runs. */
export const actionButton = (label, action, attributes = {}) => {
  const button = h("button", { type: "button", ...attributes }, label)
  button.addEventListener("click", async () => {
    if (button.disabled) return
    button.disabled = true
    button.setAttribute("aria-busy", "true")
    try {
      await action(button)
    } finally {
      button.disabled = false
      button.removeAttribute("aria-busy")
    }
  })
  return button
}

export const toast = (text, tone = "good") => {
  const region = document.getElementById("toasts")
  const item = h("div", { class: `toast toast-${tone}` }, sentence(text))
  region.append(item)
  setTimeout(() => item.remove(), 4000)
}

/**
 * Asks before something that cannot be undone. With `typeToConfirm`, the
 * confirm button stays disabled until that exact text is typed.
 */
export const confirmDialog = ({ title, text, confirmLabel, typeToConfirm }) =>
  new Promise((resolve) => {
    const input = typeToConfirm
      ? h("input", { id: "confirm-input", autocomplete: "off", spellcheck: "false" })
      : null
    const confirm = h(
      "button",
      { type: "submit", class: "danger", disabled: Boolean(typeToConfirm) },
      confirmLabel
    )
    const cancel = h("button", { type: "button", class: "secondary" }, "Cancel")
    const dialog = h(
      "dialog",
      { class: "dialog", "aria-labelledby": "dialog-title" },
      h(
        "form",
        { method: "dialog" },
        h("h2", { id: "dialog-title" }, title),
        h("p", {}, text),
        input
          ? h(
              "div",
              { class: "field" },
              h("label", { for: "confirm-input" }, `Type ${typeToConfirm} to confirm`),
              input
            )
          : null,
        h("div", { class: "dialog-actions" }, cancel, confirm)
      )
    )
    input?.addEventListener("input", () => {
      confirm.disabled = input.value !== typeToConfirm
    })
    let confirmed = false
    confirm.addEventListener("click", () => {
      confirmed = true
    })
    cancel.addEventListener("click", () => dialog.close())
    dialog.addEventListener("close", () => {
      dialog.remove()
      resolve(confirmed)
    })
    document.body.append(dialog)
    dialog.showModal()
    ;(input ?? cancel).focus()
  })

/** A "which bot" select (with "All bots"), set to `botId`; the chats, failures and stats filters. */
export const botPicker = (bots, botId, attributes = { id: "filter-bot", name: "botId" }) => {
  const select = h(
    "select",
    attributes,
    h("option", { value: "" }, "All bots"),
    bots.map((bot) => h("option", { value: bot.id }, bot.name))
  )
  select.value = botId
  return select
}

/**
 * A table in a flush card. A column is its label, or `{ label, num, title }`
 * (num: right-aligned figures), or `{ hidden: label }` for a column only
 * screen readers name (row actions). `body` is the tbody.
 */
export const dataTable = (columns, body) =>
  h(
    "div",
    { class: "card flush" },
    h("table", { class: "table responsive" }, h("thead", {}, h("tr", {}, columns.map(headerCell))), body)
  )

const headerCell = (column) => {
  if (typeof column === "string") return h("th", { scope: "col" }, column)
  if (column.hidden) return h("th", { scope: "col" }, h("span", { class: "visually-hidden" }, column.hidden))
  return h(
    "th",
    {
      scope: "col",
      ...(column.num ? { class: "num" } : {}),
      ...(column.title ? { title: column.title } : {})
    },
    column.label
  )
}

/** The centred card of the pages before a session exists (sign in, first-run setup, invitation). */
export const signInCard = (...children) =>
  h(
    "main",
    { id: "main", class: "sign-in" },
    h(
      "div",
      { class: "sign-in-card" },
      h(
        "div",
        { class: "brand brand-large" },
        h("img", { src: "/admin/assets/favicon.svg", alt: "", width: "36", height: "36" }),
        h("span", {}, "Botfleet")
      ),
      ...children
    )
  )
