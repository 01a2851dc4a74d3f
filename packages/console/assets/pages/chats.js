/** Chats, most recently active first, by bot and by Telegram user id; a page at a time. */
import { api, query } from "../api.js"
import { append, h, replace } from "../dom.js"
import { ago, chatName } from "../format.js"
import { badge, botPicker, emptyState, errorNotice, loading, pageHeader } from "../ui.js"

const PAGE_SIZE = 50

export const render = async (container, { query: params, navigate }) => {
  const botId = params.get("botId") ?? ""
  const userId = params.get("userId") ?? ""
  let bots = []
  try {
    bots = await api.get("/api/bots")
  } catch (error) {
    append(container, pageHeader("Chats"), errorNotice(error))
    return
  }
  const botNames = new Map(bots.map((bot) => [bot.id, bot.name]))

  const botSelect = botPicker(bots, botId)
  const userInput = h("input", {
    id: "filter-user",
    name: "userId",
    type: "search",
    inputmode: "numeric",
    pattern: "-?[0-9]+",
    placeholder: "e.g. 123456789",
    value: userId,
    "aria-describedby": "filter-user-help"
  })
  const filters = h(
    "form",
    { class: "filters", role: "search" },
    h("div", { class: "field" }, h("label", { for: "filter-bot" }, "Bot"), botSelect),
    h(
      "div",
      { class: "field" },
      h("label", { for: "filter-user" }, "Telegram user ID"),
      userInput,
      h(
        "p",
        { class: "help", id: "filter-user-help" },
        "The person's numeric Telegram ID, shown on each chat."
      )
    ),
    h("button", { type: "submit", class: "secondary" }, "Search")
  )
  filters.addEventListener("submit", (event) => {
    event.preventDefault()
    navigate(`/admin/chats${query({ botId: botSelect.value, userId: userInput.value.trim() })}`)
  })
  botSelect.addEventListener("change", () => filters.requestSubmit())

  const list = h("div", { class: "list" }, loading())
  append(
    container,
    pageHeader("Chats", { subtitle: "Conversations with your bots, most recently active first." }),
    filters,
    list
  )

  const rowOf = (chat) =>
    h(
      "a",
      { class: "list-row", href: `/admin/chats/${chat.id}` },
      h(
        "span",
        { class: "list-main" },
        h("span", { class: "row-title" }, chatName(chat)),
        h(
          "span",
          { class: "muted" },
          `${botNames.get(chat.botId) ?? "deleted bot"} · ${chat.type === "private" ? `user ${chat.user?.telegramId ?? chat.telegramChatId}` : chat.type}`
        ),
        chat.lastError ? h("span", { class: "row-error" }, chat.lastError) : null
      ),
      h(
        "span",
        { class: "list-side" },
        chat.lastError ? badge("Undeliverable", "bad") : null,
        h("span", { class: "muted" }, ago(chat.lastMessageAt))
      )
    )

  const loadPage = (cursor) => api.get(`/api/chats${query({ botId, userId, cursor, limit: PAGE_SIZE })}`)

  let page
  try {
    page = await loadPage()
  } catch (error) {
    replace(list, errorNotice(error))
    return
  }
  if (page.items.length === 0) {
    const filtered = botId !== "" || userId !== ""
    replace(
      list,
      filtered
        ? emptyState(
            "No chats match",
            userId
              ? `Nobody with Telegram ID ${userId} has a private chat${botId ? " with this bot" : ""}. Check the number, or clear the search.`
              : "This bot has no chats yet. They appear when someone writes to it in Telegram.",
            h("a", { class: "button secondary", href: "/admin/chats" }, "Clear search")
          )
        : emptyState(
            "No chats yet",
            bots.length === 0
              ? "Add a bot and enable it; chats appear here when people write to it in Telegram."
              : "Chats appear here as soon as someone writes to one of your enabled bots in Telegram.",
            bots.length === 0
              ? h("a", { class: "button primary", href: "/admin/bots/new" }, "Add a bot")
              : null
          )
    )
    return
  }
  const rows = h("div", { class: "card flush" }, page.items.map(rowOf))
  const more = h("div", { class: "more" })
  const showMore = (next) => {
    if (!next) return replace(more)
    const button = h("button", { type: "button", class: "secondary" }, "Load more")
    button.addEventListener("click", async () => {
      button.disabled = true
      try {
        const nextPage = await loadPage(next)
        rows.append(...nextPage.items.map(rowOf))
        showMore(nextPage.nextCursor)
      } catch (error) {
        replace(more, errorNotice(error))
      }
    })
    replace(more, button)
  }
  showMore(page.nextCursor)
  replace(list, rows, more)
}
