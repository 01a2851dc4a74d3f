/**
 * Everything that gave up, newest first, and a retry once the cause is fixed.
 * A server with failures of every kind lists failed messages, inbox
 * updates, outbox effects and knowledge documents whose indexing failed; an
 * older one lists failed messages only.
 */
import { api, query } from "../api.js"
import { append, h, replace } from "../dom.js"
import { ago } from "../format.js"
import { can } from "../roles.js"
import { actionButton, badge, botPicker, emptyState, errorNotice, loading, pageHeader, toast } from "../ui.js"

const PAGE_SIZE = 50

const KINDS = [
  { value: "message", label: "Messages", badge: "Message" },
  { value: "update", label: "Incoming updates", badge: "Update" },
  { value: "effect", label: "Telegram calls", badge: "Telegram call" },
  { value: "document", label: "Knowledge documents", badge: "Document" }
]

/** One shape for both servers: an older one lists the failed messages themselves. */
const asFailure = (item) =>
  "kind" in item && "summary" in item
    ? item
    : {
        id: `message:${item.id}`,
        kind: "message",
        botId: item.botId,
        chatId: item.chatId,
        error: item.error,
        attempts: null,
        at: item.createdAt,
        summary: item.text,
        message: item,
        legacy: true
      }

const retryPath = (failure) =>
  failure.legacy
    ? `/api/messages/${failure.message.id}/retry`
    : `/api/failures/${encodeURIComponent(failure.id)}/retry`

const retriedToast = (failure) => {
  if (failure.kind === "update") return "The update is back in line"
  if (failure.kind === "effect") return "Calling Telegram again"
  if (failure.kind === "document") return "The document will be indexed again"
  return failure.message?.role === "admin"
    ? "Sending the message again"
    : "Answering the user's message again"
}

/** What the failure was about, in words. */
const whatFailed = (failure) => {
  if (failure.kind !== "message" || !failure.message) return h("p", { class: "muted" }, failure.summary)
  return h(
    "p",
    { class: "muted" },
    failure.message.role === "admin" ? "Admin message: " : "The user was told: ",
    h("q", {}, failure.message.text)
  )
}

export const render = async (container, { query: params, navigate, features, session }) => {
  const operates = can(session, "operate")
  const everyKind = features.has("failuresOfEveryKind")
  const botId = params.get("botId") ?? ""
  const kind = everyKind ? (params.get("kind") ?? "") : ""
  let bots
  try {
    bots = await api.get("/api/bots")
  } catch (error) {
    append(container, pageHeader("Failures"), errorNotice(error))
    return
  }
  const botNames = new Map(bots.map((bot) => [bot.id, bot.name]))
  const botSelect = botPicker(bots, botId)
  const kindSelect = everyKind
    ? h(
        "select",
        { id: "filter-kind", name: "kind" },
        h("option", { value: "" }, "Everything"),
        KINDS.map((option) => h("option", { value: option.value }, option.label))
      )
    : null
  if (kindSelect) kindSelect.value = kind
  const filter = () =>
    navigate(`/admin/failures${query({ botId: botSelect.value, kind: kindSelect?.value ?? "" })}`)
  botSelect.addEventListener("change", filter)
  kindSelect?.addEventListener("change", filter)

  const list = h("div", {}, loading())
  append(
    container,
    pageHeader("Failures", {
      subtitle: everyKind
        ? "Replies and admin messages that failed for good, incoming updates given up on, and Telegram calls that ran out of attempts. Fix the cause, then retry."
        : "Replies that failed for good and admin messages Telegram refused. Fix the cause, then retry."
    }),
    h(
      "div",
      { class: "filters" },
      h("div", { class: "field" }, h("label", { for: "filter-bot" }, "Bot"), botSelect),
      kindSelect ? h("div", { class: "field" }, h("label", { for: "filter-kind" }, "Kind"), kindSelect) : null
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
  const rowOf = (failure) => {
    const kindInfo = KINDS.find((option) => option.value === failure.kind)
    const where = [
      failure.botId ? (botNames.get(failure.botId) ?? "deleted bot") : "no bot",
      ago(failure.at),
      failure.attempts === null ? null : `${failure.attempts} attempts`
    ]
      .filter(Boolean)
      .join(" · ")
    const row = h(
      "div",
      { class: "failure", dataset: { failureId: failure.id, kind: failure.kind } },
      h(
        "div",
        { class: "failure-main" },
        everyKind ? badge(kindInfo?.badge ?? failure.kind, "neutral") : null,
        h("p", { class: "failure-error" }, failure.error ?? "failed"),
        whatFailed(failure),
        h(
          "p",
          { class: "muted small-text" },
          where,
          failure.chatId ? [" · ", h("a", { href: `/admin/chats/${failure.chatId}` }, "Open chat")] : null
        )
      ),
      operates &&
        actionButton(
          "Retry",
          async () => {
            try {
              await api.post(retryPath(failure))
              toast(retriedToast(failure))
              row.remove()
              showEmptyIfNone()
            } catch (error) {
              toast(error.message, "bad")
            }
          },
          { class: "secondary", "aria-label": `Retry: ${failure.error ?? "failed"}` }
        )
    )
    return row
  }

  const more = h("div", { class: "more" })
  const load = async (cursor) => {
    const page = await api.get(
      `/api/failures${query({ botId, kind: kind || undefined, cursor, limit: PAGE_SIZE })}`
    )
    cards.append(...page.items.map(asFailure).map(rowOf))
    if (page.nextCursor) {
      const button = actionButton(
        "Load more",
        () => load(page.nextCursor).catch((error) => replace(more, errorNotice(error))),
        { class: "secondary" }
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
