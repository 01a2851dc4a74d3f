/**
 * The fleet: every bot with its state, mode, last error, and replies and
 * cost over the last 24 hours; enable or disable in place.
 */
import { api, query } from "../api.js"
import { append, h, replace } from "../dom.js"
import { count, usd } from "../format.js"
import { can } from "../roles.js"
import {
  actionButton,
  botStatus,
  dataTable,
  emptyState,
  errorNotice,
  loading,
  pageHeader,
  toast
} from "../ui.js"

/** Per-bot numbers come from /api/stats, one bot per request; a few at a time. */
const STATS_CONCURRENCY = 4

const loadDayStats = async (bots, onStats) => {
  const queue = [...bots]
  const worker = async () => {
    for (let bot = queue.shift(); bot; bot = queue.shift()) {
      try {
        onStats(bot.id, await api.get(`/api/stats${query({ period: "day", botId: bot.id })}`))
      } catch {
        onStats(bot.id, null)
      }
    }
  }
  await Promise.all(Array.from({ length: STATS_CONCURRENCY }, worker))
}

const toggle = (bot, onChange) =>
  actionButton(
    bot.active ? "Disable" : "Enable",
    async () => {
      try {
        const changed = await api.post(`/api/bots/${bot.id}/${bot.active ? "disable" : "enable"}`)
        toast(changed.active ? `${changed.name} is answering again` : `${changed.name} is disabled`)
        onChange(changed)
      } catch (error) {
        toast(error.message, "bad")
      }
    },
    {
      class: bot.active ? "secondary small" : "primary small",
      "aria-label": `${bot.active ? "Disable" : "Enable"} ${bot.name}`
    }
  )

export const render = async (container, { isActive, session }) => {
  const operates = can(session, "operate")
  const addButton = operates ? h("a", { class: "button primary", href: "/admin/bots/new" }, "Add bot") : null
  const body = h("div", {}, loading())
  append(
    container,
    pageHeader("Bots", {
      subtitle: "Every bot this server runs. Numbers cover the last 24 hours.",
      actions: addButton
    }),
    body
  )
  let bots
  try {
    bots = await api.get("/api/bots")
  } catch (error) {
    replace(body, errorNotice(error))
    return
  }
  if (bots.length === 0) {
    replace(
      body,
      emptyState(
        "No bots yet",
        operates
          ? "Create a bot in Telegram with @BotFather, copy its token, then add it here. It starts disabled until you enable it."
          : "An operator or an owner adds bots; they will show here.",
        operates ? h("a", { class: "button primary", href: "/admin/bots/new" }, "Add your first bot") : null
      )
    )
    return
  }

  const statsCells = new Map()
  const rowFor = (bot) => {
    const replies = h("td", { class: "num", "data-label": "Replies" }, h("span", { class: "muted" }, "…"))
    const cost = h("td", { class: "num", "data-label": "Cost" }, h("span", { class: "muted" }, "…"))
    statsCells.set(bot.id, { replies, cost })
    const row = h(
      "tr",
      { dataset: { botId: bot.id } },
      h(
        "td",
        { class: "bot-cell" },
        h("a", { class: "row-title", href: `/admin/bots/${bot.id}` }, bot.name),
        h("span", { class: "muted" }, `@${bot.username}`),
        bot.lastError ? h("span", { class: "row-error" }, bot.lastError) : null
      ),
      h("td", { "data-label": "Status" }, botStatus(bot)),
      h("td", { "data-label": "Mode" }, bot.mode === "webhook" ? "Webhook" : "Long polling"),
      h("td", { "data-label": "Model" }, h("code", {}, bot.effectiveModel)),
      replies,
      cost,
      h(
        "td",
        { class: "actions" },
        operates &&
          toggle(bot, (changed) => {
            const old = statsCells.get(bot.id)
            const fresh = rowFor(changed)
            const cells = statsCells.get(changed.id)
            cells.replies.replaceChildren(...old.replies.childNodes)
            cells.cost.replaceChildren(...old.cost.childNodes)
            row.replaceWith(fresh)
            fresh.querySelector("button")?.focus()
          })
      )
    )
    return row
  }

  const rows = bots.map(rowFor)
  replace(
    body,
    dataTable(
      [
        "Bot",
        "Status",
        "Mode",
        "Model",
        { label: "Replies", num: true },
        { label: "Cost", num: true },
        { hidden: "Actions" }
      ],
      h("tbody", {}, rows)
    )
  )
  await loadDayStats(bots, (botId, stats) => {
    if (!isActive()) return
    const cells = statsCells.get(botId)
    cells.replies.replaceChildren(stats ? count(stats.messagesOut) : "–")
    cells.cost.replaceChildren(stats ? usd(stats.costUsd) : "–")
  })
}
