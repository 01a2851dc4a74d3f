/**
 * Failed replies and admin messages, newest first: what the user got, why it
 * failed, and a retry once the cause is fixed.
 */
import { api, query } from "../api.js"
import { append, h, replace } from "../dom.js"
import { ago } from "../format.js"
import { actionButton, emptyState, errorNotice, loading, pageHeader, toast } from "../ui.js"

const PAGE_SIZE = 50

export const render = async (container, { query: params, navigate }) => {
  const botId = params.get("botId") ?? ""
  let bots
  try {
    bots = await api.get("/api/bots")
  } catch (error) {
    append(container, pageHeader("Failures"), errorNotice(error))
    return
  }
  const botNames = new Map(bots.map((bot) => [bot.id, bot.name]))
  const botSelect = h(
    "select",
    { id: "filter-bot", name: "botId" },
    h("option", { value: "" }, "All bots"),
    bots.map((bot) => h("option", { value: bot.id }, bot.name))
  )
  botSelect.value = botId
  botSelect.addEventListener("change", () => navigate(`/admin/failures${query({ botId: botSelect.value })}`))

  const list = h("div", {}, loading())
  append(
    container,
    pageHeader("Failures", {
      subtitle: "Replies that failed for good and admin messages Telegram refused. Fix the cause, then retry."
    }),
    h(
      "div",
      { class: "filters" },
      h("div", { class: "field" }, h("label", { for: "filter-bot" }, "Bot"), botSelect)
    ),
    list
  )

  const cards = h("div", { class: "card flush" })
  const showEmptyIfNone = () => {
    if (cards.childElementCount === 0) {
      replace(
        list,
        emptyState(
          "No failures",
          "Nothing to retry. When a reply fails for good (a wrong API key, no quota, Telegram refusing it), it shows up here.",
          h("a", { class: "button secondary", href: "/admin/stats" }, "See stats")
        )
      )
    }
  }
  const rowOf = (message) => {
    const row = h(
      "div",
      { class: "failure", dataset: { messageId: message.id } },
      h(
        "div",
        { class: "failure-main" },
        h("p", { class: "failure-error" }, message.error ?? "failed"),
        h(
          "p",
          { class: "muted" },
          message.role === "admin" ? "Admin message: " : "The user was told: ",
          h("q", {}, message.text)
        ),
        h(
          "p",
          { class: "muted small-text" },
          `${botNames.get(message.botId) ?? "deleted bot"} · ${ago(message.createdAt)} · `,
          h("a", { href: `/admin/chats/${message.chatId}` }, "Open chat")
        )
      ),
      actionButton(
        "Retry",
        async () => {
          try {
            await api.post(`/api/messages/${message.id}/retry`)
            toast(
              message.role === "admin" ? "Sending the message again" : "Answering the user's message again"
            )
            row.remove()
            showEmptyIfNone()
          } catch (error) {
            toast(error.message, "bad")
          }
        },
        { class: "secondary", "aria-label": `Retry: ${message.error ?? "failed message"}` }
      )
    )
    return row
  }

  const more = h("div", { class: "more" })
  const load = async (cursor) => {
    const page = await api.get(`/api/failures${query({ botId, cursor, limit: PAGE_SIZE })}`)
    cards.append(...page.items.map(rowOf))
    if (page.nextCursor) {
      const button = actionButton(
        "Load more",
        () => load(page.nextCursor).catch((error) => replace(more, errorNotice(error))),
        {
          class: "secondary"
        }
      )
      replace(more, button)
    } else replace(more)
  }
  try {
    await load()
  } catch (error) {
    replace(list, errorNotice(error))
    return
  }
  replace(list, cards, more)
  showEmptyIfNone()
}
