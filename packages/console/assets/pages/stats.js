/** Usage over the last day, week or month, of the fleet or one bot: totals, daily charts, top users and bots. */
import { api, query } from "../api.js"
import { barChart } from "../charts.js"
import { append, h, replace } from "../dom.js"
import { count, milliseconds, usd } from "../format.js"
import { botPicker, emptyState, errorNotice, loading, pageHeader } from "../ui.js"

const PERIODS = [
  { id: "day", label: "24 hours" },
  { id: "week", label: "7 days" },
  { id: "month", label: "30 days" }
]

const tile = (label, value, detail) =>
  h(
    "div",
    { class: "tile" },
    h("span", { class: "tile-label" }, label),
    h("span", { class: "tile-value" }, value),
    detail ? h("span", { class: "tile-detail" }, detail) : null
  )

const table = (caption, headers, rows, empty) =>
  h(
    "section",
    { class: "card" },
    h("h2", {}, caption),
    rows.length === 0
      ? h("p", { class: "muted" }, empty)
      : h(
          "table",
          { class: "table compact" },
          h(
            "thead",
            {},
            h(
              "tr",
              {},
              headers.map((header) =>
                h("th", { scope: "col", class: header.num ? "num" : null }, header.label)
              )
            )
          ),
          h("tbody", {}, rows)
        )
  )

export const render = async (container, { query: params, navigate }) => {
  const period = PERIODS.some((p) => p.id === params.get("period")) ? params.get("period") : "day"
  const botId = params.get("botId") ?? ""
  const go = (changes) => navigate(`/admin/stats${query({ period, botId, ...changes })}`)

  let bots
  try {
    bots = await api.get("/api/bots")
  } catch (error) {
    append(container, pageHeader("Stats"), errorNotice(error))
    return
  }
  const periodButtons = h(
    "div",
    { class: "segmented", role: "group", "aria-label": "Period" },
    PERIODS.map((p) =>
      h(
        "button",
        { type: "button", "aria-pressed": String(p.id === period), onclick: () => go({ period: p.id }) },
        p.label
      )
    )
  )
  const botSelect = botPicker(bots, botId, { id: "stats-bot", "aria-label": "Bot" })
  botSelect.addEventListener("change", () => go({ botId: botSelect.value }))

  const body = h("div", { class: "stack-lg" }, loading())
  append(
    container,
    pageHeader("Stats", { subtitle: "Messages, users, cost and reply times. Days are UTC days." }),
    h("div", { class: "toolbar" }, periodButtons, botSelect),
    body
  )

  let stats
  try {
    stats = await api.get(`/api/stats${query({ period, botId })}`)
  } catch (error) {
    replace(body, errorNotice(error))
    return
  }
  const botNames = new Map(bots.map((bot) => [bot.id, bot.name]))
  const nothing = stats.messagesIn === 0 && stats.messagesOut === 0 && stats.errors === 0

  replace(
    body,
    h(
      "div",
      { class: "tiles" },
      tile("Messages in", count(stats.messagesIn)),
      tile(
        "Replies sent",
        count(stats.messagesOut),
        stats.errors > 0 ? `${count(stats.errors)} failed` : "none failed"
      ),
      tile("Active users", count(stats.activeUsers), `${count(stats.newUsers)} new`),
      tile("Active chats", count(stats.activeChats), `${count(stats.newChats)} new`),
      tile(
        "Cost",
        usd(stats.costUsd),
        `${count(stats.inputTokens)} in · ${count(stats.outputTokens)} out tokens`
      ),
      tile(
        "Reply time",
        milliseconds(stats.replyLatencyMs.p50),
        `p95 ${milliseconds(stats.replyLatencyMs.p95)}`
      )
    ),
    nothing
      ? emptyState(
          "No messages in this period",
          "The charts fill in as people write to your bots. Try a longer period, or check that your bots are enabled.",
          h("a", { class: "button secondary", href: "/admin" }, "Go to bots")
        )
      : h(
          "div",
          { class: "charts" },
          barChart({
            title: "Messages per day",
            summary: `${stats.messagesIn} messages in and ${stats.messagesOut} replies sent`,
            series: stats.series,
            bars: [
              { key: "messagesIn", label: "In", className: "series-a" },
              { key: "messagesOut", label: "Sent", className: "series-b" },
              { key: "errors", label: "Failed", className: "series-bad" }
            ],
            format: count
          }),
          barChart({
            title: "Cost per day",
            summary: `${usd(stats.costUsd)} in total`,
            series: stats.series,
            bars: [{ key: "costUsd", label: "Cost", className: "series-c" }],
            format: usd
          })
        ),
    h(
      "div",
      { class: "two-columns" },
      table(
        "Top users",
        [{ label: "User" }, { label: "Messages", num: true }],
        stats.topUsers.map((user) =>
          h(
            "tr",
            {},
            h(
              "td",
              {},
              h(
                "a",
                { href: `/admin/chats${query({ userId: user.telegramId })}` },
                user.username ? `${user.firstName} (@${user.username})` : user.firstName
              ),
              h("span", { class: "muted small-text" }, ` · ${user.telegramId}`)
            ),
            h("td", { class: "num" }, count(user.messages))
          )
        ),
        "Nobody wrote in this period."
      ),
      table(
        "Top bots",
        [{ label: "Bot" }, { label: "Messages", num: true }, { label: "Cost", num: true }],
        stats.topBots.map((bot) =>
          h(
            "tr",
            {},
            h("td", {}, h("a", { href: `/admin/bots/${bot.botId}` }, botNames.get(bot.botId) ?? bot.name)),
            h("td", { class: "num" }, count(bot.messages)),
            h("td", { class: "num" }, usd(bot.costUsd))
          )
        ),
        "No bot had messages in this period."
      )
    )
  )
}
