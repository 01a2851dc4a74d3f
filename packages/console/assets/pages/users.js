/**
 * A bot's Telegram users: what each used today and this month (UTC), how
 * often they were refused, and block/unblock in place.
 */
import { api, query } from "../api.js"
import { append, h, replace } from "../dom.js"
import { count, usd } from "../format.js"
import { can } from "../roles.js"
import { actionButton, badge, dataTable, emptyState, errorNotice, loading, pageHeader, toast } from "../ui.js"

const PAGE_SIZE = 50

const usage = (totals) =>
  h(
    "span",
    { class: "usage" },
    `${count(totals.messages)} msg · ${count(totals.tokens)} tokens · ${usd(totals.costUsd)}`
  )

const displayName = (user) => (user.username ? `${user.firstName} (@${user.username})` : user.firstName)

export const render = async (container, { params, isActive, session }) => {
  const operates = can(session, "operate")
  append(container, loading())
  let bot
  try {
    bot = await api.get(`/api/bots/${params.id}`)
  } catch (error) {
    replace(container, pageHeader("Users", { back: { href: "/admin", label: "Bots" } }), errorNotice(error))
    return
  }
  if (!isActive()) return

  const accessNote = h("p", { class: "muted page-note" })
  const describeAccess = () =>
    accessNote.replaceChildren(
      bot.access === "allowlist"
        ? `Only listed users and groups may talk to ${bot.name}; blocked users are refused even then.`
        : `Anyone may talk to ${bot.name} except blocked users.`,
      " ",
      h("a", { href: `/admin/bots/${bot.id}` }, "Access and limits")
    )
  describeAccess()

  const rowOf = (user) => {
    const status = h("td", { "data-label": "Status" })
    const action = h("td", { class: "actions" })
    const name = displayName(user)
    const drawState = () => {
      replace(status, user.blocked ? badge("Blocked", "bad") : badge("Allowed", "good"))
      replace(
        action,
        operates &&
          actionButton(
            user.blocked ? "Unblock" : "Block",
            async () => {
              try {
                bot = await api.post(
                  `/api/bots/${bot.id}/users/${user.telegramId}/${user.blocked ? "unblock" : "block"}`
                )
                user = { ...user, blocked: bot.blockedUserIds.includes(user.telegramId) }
                toast(user.blocked ? `${name} is blocked` : `${name} is unblocked`)
                drawState()
                action.querySelector("button")?.focus()
              } catch (error) {
                toast(error.message, "bad")
              }
            },
            {
              class: user.blocked ? "secondary small" : "danger small",
              "aria-label": `${user.blocked ? "Unblock" : "Block"} ${name}`
            }
          )
      )
    }
    drawState()
    return h(
      "tr",
      { dataset: { telegramId: String(user.telegramId) } },
      h(
        "td",
        { class: "bot-cell" },
        h(
          "a",
          { class: "row-title", href: `/admin/chats${query({ botId: bot.id, userId: user.telegramId })}` },
          name
        ),
        h("span", { class: "muted" }, `Telegram user ${user.telegramId}`)
      ),
      h("td", { "data-label": "Today" }, usage(user.today)),
      h("td", { "data-label": "This month" }, usage(user.thisMonth)),
      h(
        "td",
        { class: "num", "data-label": "Refused" },
        `${count(user.today.denied)} / ${count(user.thisMonth.denied)}`
      ),
      status,
      action
    )
  }

  const rows = h("tbody")
  const more = h("div", { class: "more" })
  const list = h("div", {}, loading())
  replace(
    container,
    pageHeader("Users", {
      back: { href: `/admin/bots/${bot.id}`, label: bot.name },
      subtitle: `Telegram users of ${bot.name}: use today and this month (UTC).`
    }),
    accessNote,
    list
  )

  const load = async (cursor) => {
    const page = await api.get(`/api/bots/${bot.id}/users${query({ cursor, limit: PAGE_SIZE })}`)
    rows.append(...page.items.map(rowOf))
    replace(
      more,
      page.nextCursor
        ? actionButton(
            "Load more",
            () => load(page.nextCursor).catch((error) => replace(more, errorNotice(error))),
            { class: "secondary" }
          )
        : null
    )
  }
  try {
    await load()
  } catch (error) {
    replace(list, errorNotice(error))
    return
  }
  if (rows.childElementCount === 0) {
    replace(
      list,
      emptyState(
        "No users yet",
        `People show up here once they start a private chat with ${bot.name}. Open the bot in Telegram and send /start to see yourself.`,
        h("a", { class: "button secondary", href: `/admin/bots/${bot.id}` }, "Back to the bot")
      )
    )
    return
  }
  replace(
    list,
    dataTable(
      [
        "User",
        "Today",
        "This month",
        { label: "Refused", num: true, title: "Refused messages today / this month" },
        "Status",
        { hidden: "Actions" }
      ],
      rows
    ),
    more
  )
}
