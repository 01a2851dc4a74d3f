/**
 * One chat's transcript, kept live by polling (every 1.5 s while the tab is
 * visible), and "answer as the bot". Failed messages can be retried here.
 * Below it, the running summaries the model reads in place of older turns
 * (read once per visit: they are made seldom).
 */
import { api, query } from "../api.js"
import { append, h, replace } from "../dom.js"
import { chatName, count, dateTime, kindLabel, time, topicLabel, usd } from "../format.js"
import { can } from "../roles.js"
import { actionButton, emptyState, errorNotice, loading, pageHeader, toast } from "../ui.js"
import { notesCard } from "../userNotes.js"

const POLL_MS = 1500
const PAGE_SIZE = 50

const roleLabel = { user: null, assistant: "Bot", admin: "Admin (you)" }

/** A reply's tool calls, folded: each with its arguments, result (as the API cut it), status and time. */
const toolCallsOf = (message) => {
  const calls = message.toolCalls ?? []
  if (calls.length === 0) return null
  return h(
    "details",
    { class: "tool-calls" },
    h("summary", {}, calls.length === 1 ? "1 tool call" : `${calls.length} tool calls`),
    h(
      "ol",
      {},
      ...calls.map((call) =>
        h(
          "li",
          { class: call.isError ? "tool-call tool-error" : "tool-call" },
          h("code", {}, `${call.name}(${call.arguments})`),
          " ",
          h(
            "span",
            { class: "message-meta" },
            call.status === "running"
              ? "running (or cut short)"
              : `${call.isError ? "failed" : "done"}${call.durationMs === null ? "" : ` in ${call.durationMs} ms`}`
          ),
          call.result === null ? null : h("pre", { class: "tool-result" }, call.result)
        )
      )
    )
  )
}

const metaOf = (message) => {
  const parts = [time(message.createdAt)]
  if (message.role === "assistant" && message.model) {
    parts.push(
      message.model,
      `${count(message.inputTokens + message.outputTokens)} tokens`,
      usd(message.costUsd)
    )
  }
  if (message.status === "pending") parts.push("sending…")
  // /retry answered again: kept here, no longer read by the model.
  if (message.replacedAt) parts.push("replaced by /retry")
  return parts.join(" · ")
}

/** The running summaries, newest first, each folded open on demand. */
const summariesCard = (summaries) =>
  summaries.length === 0
    ? null
    : h(
        "section",
        { class: "card summaries-card", "aria-label": "Summaries" },
        h("h2", {}, "Summaries"),
        h(
          "p",
          { class: "help" },
          "Older turns the model no longer reads word for word: each later answer starts from the newest summary."
        ),
        ...summaries.map((summary) =>
          h(
            "details",
            { class: "summary" },
            h(
              "summary",
              {},
              [
                dateTime(summary.createdAt),
                topicLabel(summary),
                summary.model,
                `${count(summary.inputTokens + summary.outputTokens)} tokens`,
                usd(summary.costUsd)
              ]
                .filter(Boolean)
                .join(" · ")
            ),
            h("p", { class: "message-text" }, summary.text)
          )
        )
      )

export const render = async (container, { params, isActive, onLeave, session }) => {
  // A viewer reads the transcript; answering and retrying need an operator.
  const operates = can(session, "operate")
  let chat
  let bot
  try {
    chat = await api.get(`/api/chats/${params.id}`)
    bot = await api.get(`/api/bots/${chat.botId}`).catch(() => null)
  } catch (error) {
    append(
      container,
      pageHeader("Chat", { back: { href: "/admin/chats", label: "Chats" } }),
      errorNotice(error)
    )
    return
  }
  if (!isActive()) return
  const botName = bot?.name ?? "the bot"
  const messages = new Map()
  let olderCursor = null
  let lastDrawn = ""

  const transcript = h(
    "div",
    { class: "transcript", role: "log", "aria-live": "polite", "aria-label": "Transcript", tabindex: "0" },
    loading()
  )
  const olderButton = h("button", { type: "button", class: "link-button" }, "Load earlier messages")
  const older = h("div", { class: "older" })
  const pollProblem = h("div", { class: "form-problem" })

  /**
   * Groups show who spoke and, in a forum, the topic (each topic is its own conversation);
   * a recording or photo gets a small tag (its text is the transcript or caption).
   */
  const header = (message) => {
    const author =
      roleLabel[message.role] ?? (chat.user === null && message.senderName ? message.senderName : null)
    const kind = kindLabel(message)
    const topic = topicLabel(message)
    if (!author && !kind && !topic) return null
    return h(
      "span",
      { class: "message-author" },
      author,
      topic
        ? h("span", { class: "kind-tag topic-tag", title: "The forum topic it belongs to" }, topic)
        : null,
      kind ? h("span", { class: `kind-tag kind-${message.kind}`, title: "What the user sent" }, kind) : null
    )
  }

  const bubble = (message) =>
    h(
      "div",
      {
        class: `message message-${message.role} status-${message.status}`,
        dataset: { messageId: message.id }
      },
      header(message),
      toolCallsOf(message),
      h("p", { class: "message-text" }, message.text),
      message.status === "failed"
        ? h(
            "div",
            { class: "message-failure" },
            h("span", {}, `Failed: ${message.error ?? "unknown reason"}`),
            operates &&
              actionButton(
                "Retry",
                async () => {
                  try {
                    await api.post(`/api/messages/${message.id}/retry`)
                    toast("Retrying")
                    await poll()
                  } catch (error) {
                    toast(error.message, "bad")
                  }
                },
                { class: "secondary small" }
              )
          )
        : null,
      h("span", { class: "message-meta" }, metaOf(message))
    )

  const draw = () => {
    const sorted = [...messages.values()].sort((a, b) => a.createdAt.localeCompare(b.createdAt))
    const signature = JSON.stringify(sorted.map((m) => [m.id, m.status, m.text, m.replacedAt]))
    if (signature === lastDrawn) return
    lastDrawn = signature
    const nearBottom = transcript.scrollHeight - transcript.scrollTop - transcript.clientHeight < 80
    if (sorted.length === 0) {
      replace(
        transcript,
        emptyState("No messages yet", "New messages appear here by themselves as they arrive.")
      )
    } else {
      replace(transcript, sorted.map(bubble))
    }
    replace(older, olderCursor ? olderButton : null)
    if (nearBottom || transcript.dataset.scrolled !== "yes") {
      transcript.scrollTop = transcript.scrollHeight
      transcript.dataset.scrolled = "yes"
    }
  }

  const merge = (items) => {
    for (const message of items) messages.set(message.id, message)
  }

  let firstPoll = true

  let inFlight = false
  const poll = async () => {
    // A slow answer must not pile up requests behind it.
    if (inFlight) return
    inFlight = true
    try {
      const page = await api.get(`/api/chats/${chat.id}/messages${query({ limit: PAGE_SIZE })}`)
      // A retried reply is deleted and made again: drop what the newest page no longer has.
      const newest = new Set(page.items.map((m) => m.id))
      const oldestShown = page.items.at(-1)?.createdAt
      for (const [id, message] of messages) {
        if (oldestShown && message.createdAt >= oldestShown && !newest.has(id)) messages.delete(id)
      }
      merge(page.items)
      if (firstPoll) olderCursor = page.nextCursor
      firstPoll = false
      pollProblem.replaceChildren()
      draw()
    } catch (error) {
      pollProblem.replaceChildren(errorNotice(error))
    } finally {
      inFlight = false
    }
  }

  olderButton.addEventListener("click", async () => {
    olderButton.disabled = true
    try {
      const page = await api.get(
        `/api/chats/${chat.id}/messages${query({ limit: PAGE_SIZE, cursor: olderCursor })}`
      )
      olderCursor = page.nextCursor
      const before = transcript.scrollHeight
      merge(page.items)
      draw()
      transcript.scrollTop = transcript.scrollHeight - before
    } catch (error) {
      toast(error.message, "bad")
    } finally {
      olderButton.disabled = false
    }
  })

  const text = h("textarea", {
    id: "answer",
    name: "text",
    rows: 3,
    required: true,
    maxlength: 20000,
    placeholder: "Write a message; the user gets it from the bot in Telegram",
    "aria-describedby": "answer-help"
  })
  const send = h("button", { type: "submit", class: "primary" }, "Send")
  const sendProblem = h("div", { class: "form-problem" })
  const composer = h(
    "form",
    { class: "composer" },
    h("label", { for: "answer" }, `Answer as ${botName}`),
    text,
    h(
      "div",
      { class: "composer-actions" },
      h(
        "p",
        { class: "help", id: "answer-help" },
        "Ctrl+Enter sends. The bot's model sees it as its own earlier answer."
      ),
      send
    ),
    sendProblem
  )
  text.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
      event.preventDefault()
      composer.requestSubmit()
    }
  })
  composer.addEventListener("submit", async (event) => {
    event.preventDefault()
    if (text.value.trim() === "") return
    send.disabled = true
    sendProblem.replaceChildren()
    try {
      const message = await api.post(`/api/chats/${chat.id}/messages`, { text: text.value })
      messages.set(message.id, message)
      text.value = ""
      transcript.dataset.scrolled = "no"
      draw()
    } catch (error) {
      sendProblem.replaceChildren(errorNotice(error))
    } finally {
      send.disabled = false
      text.focus()
    }
  })

  const facts = [
    chat.user ? `Telegram user ${chat.user.telegramId}` : `${chat.type} ${chat.telegramChatId}`,
    chat.user?.languageCode ? `language ${chat.user.languageCode}` : null,
    `conversation #${chat.thread}`,
    `since ${dateTime(chat.createdAt)}`
  ].filter(Boolean)

  append(
    container,
    pageHeader(chatName(chat), {
      back: { href: `/admin/chats${query({ botId: chat.botId })}`, label: "Chats" },
      subtitle: h(
        "span",
        { class: "inline-list" },
        bot ? h("a", { href: `/admin/bots/${bot.id}` }, bot.name) : "deleted bot",
        facts.join(" · ")
      )
    }),
    chat.lastError
      ? h(
          "div",
          { class: "notice notice-error", role: "alert" },
          h("strong", {}, "Messages to this chat fail: "),
          chat.lastError
        )
      : null,
    h("section", { class: "card chat-card" }, older, transcript, pollProblem, operates && composer),
    // A private chat is one user's: what the bot keeps about them.
    chat.user ? notesCard({ botId: chat.botId, userId: chat.user.telegramId, operates }) : null
  )
  // A transcript without its summaries is still a transcript: a failure here shows nothing more.
  const summaries = await api.get(`/api/chats/${chat.id}/summaries`).catch(() => ({ items: [] }))
  if (!isActive()) return
  append(container, summariesCard(summaries.items))
  await poll()
  if (!isActive()) return
  // A hidden tab does not poll; coming back catches up at once.
  const timer = setInterval(() => {
    if (!document.hidden) void poll()
  }, POLL_MS)
  const onVisible = () => {
    if (!document.hidden) void poll()
  }
  document.addEventListener("visibilitychange", onVisible)
  onLeave(() => {
    clearInterval(timer)
    document.removeEventListener("visibilitychange", onVisible)
  })
}
