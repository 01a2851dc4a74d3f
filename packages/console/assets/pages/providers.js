/**
 * LLM providers: the OpenAI-compatible servers (a local model,
 * OpenRouter...) some bots answer through instead of the server's default.
 * Keys are never shown: only their last four characters.
 */
import { api } from "../api.js"
import { append, h, replace } from "../dom.js"
import { can } from "../roles.js"
import { dataTable, emptyState, errorNotice, loading, pageHeader } from "../ui.js"

const rowOf = (provider, owns) =>
  h(
    "tr",
    { dataset: { provider: provider.id } },
    h(
      "td",
      { class: "bot-cell" },
      owns
        ? h("a", { class: "row-title", href: `/admin/providers/${provider.id}` }, provider.name)
        : h("span", { class: "row-title" }, provider.name),
      h("span", { class: "muted" }, provider.baseUrl)
    ),
    h("td", { "data-label": "Key" }, h("code", {}, provider.apiKeyHint)),
    h("td", { "data-label": "Default model" }, provider.defaultModel ?? "–"),
    h(
      "td",
      { "data-label": "Bots" },
      provider.bots.length === 0
        ? h("span", { class: "muted" }, "none")
        : provider.bots.map((bot, index) => [
            index > 0 ? ", " : null,
            h("a", { href: `/admin/bots/${bot.id}` }, bot.name)
          ])
    )
  )

export const render = async (container, { isActive, session }) => {
  // Owners change providers; the others see which exist.
  const owns = can(session, "own")
  const body = h("div", {}, loading())
  const add = owns
    ? h("a", { class: "button primary", href: "/admin/providers/new" }, "Add a provider")
    : null
  append(
    container,
    pageHeader("Providers", {
      subtitle:
        "OpenAI-compatible servers with their own key. A bot uses the server's default (OPENAI_*) unless its settings name one of these.",
      actions: add
    }),
    body
  )
  let providers
  try {
    providers = await api.get("/api/providers")
  } catch (error) {
    replace(body, errorNotice(error))
    return
  }
  if (!isActive()) return
  if (providers.length === 0) {
    replace(
      body,
      emptyState(
        "No providers yet",
        "Every bot answers through the server's default. Add a provider to give a bot a local model or another service.",
        owns ? h("a", { class: "button primary", href: "/admin/providers/new" }, "Add a provider") : null
      )
    )
    return
  }
  replace(
    body,
    dataTable(
      ["Provider", "Key", "Default model", "Used by"],
      h(
        "tbody",
        {},
        providers.map((provider) => rowOf(provider, owns))
      )
    )
  )
}
