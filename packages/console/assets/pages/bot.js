/**
 * One bot: every setting, enable/disable, token rotation, Telegram's view of
 * the webhook, and deletion (after typing the bot's name).
 */
import { api, query } from "../api.js"
import { bodyFrom } from "../botFields.js"
import { botFormSections, markInvalidField } from "../botForm.js"
import { botFieldLimits } from "../capabilities.js"
import { append, h, replace } from "../dom.js"
import { dateTime } from "../format.js"
import { can } from "../roles.js"
import { actionButton, botStatus, confirmDialog, errorNotice, loading, pageHeader, toast } from "../ui.js"

const WEBHOOK_LAG_MS = 1500

const definition = (term, ...details) => [h("dt", {}, term), h("dd", {}, ...details)]

const webhookCard = (bot) => {
  const mode = definition("Mode", bot.mode === "webhook" ? "Webhook" : "Long polling")
  const hook = bot.webhook
  let rows = []
  let note = null
  if (bot.mode === "polling") {
    note =
      "This server asks Telegram for new messages, so no webhook is needed. Set PUBLIC_URL to use webhooks."
  } else if (!hook) {
    note = "Telegram did not answer in time; reload the page to ask again."
  } else {
    rows = [
      definition("URL", hook.url ? h("code", { class: "break" }, hook.url) : "none (the bot is disabled)"),
      definition("Pending updates", String(hook.pendingUpdateCount)),
      hook.lastErrorMessage
        ? definition(
            "Last error",
            h("span", { class: "text-bad" }, hook.lastErrorMessage),
            ` (${dateTime(hook.lastErrorDate)})`
          )
        : definition("Last error", "none")
    ]
  }
  return h(
    "section",
    { class: "card" },
    h("h2", {}, "Telegram"),
    h("dl", { class: "details" }, mode, rows),
    note ? h("p", { class: "muted small-text" }, note) : null
  )
}

const tokenCard = (bot, onChange) => {
  const input = h("input", {
    id: "rotate-token",
    type: "password",
    autocomplete: "off",
    spellcheck: "false",
    required: true,
    placeholder: "New token from @BotFather",
    "aria-describedby": "rotate-token-help"
  })
  const problem = h("div", { class: "form-problem" })
  const submit = h("button", { type: "submit", class: "secondary" }, "Rotate token")
  const form = h(
    "form",
    { class: "stack" },
    h("div", { class: "field" }, h("label", { for: "rotate-token" }, "New token"), input),
    h(
      "p",
      { class: "help", id: "rotate-token-help" },
      "After “Revoke current token” in @BotFather, paste the new one. Chats and history stay."
    ),
    problem,
    submit
  )
  form.addEventListener("submit", async (event) => {
    event.preventDefault()
    submit.disabled = true
    problem.replaceChildren()
    try {
      const changed = await api.patch(`/api/bots/${bot.id}`, { token: input.value.trim() })
      input.value = ""
      toast("Token rotated")
      onChange(changed)
    } catch (error) {
      problem.replaceChildren(errorNotice(error))
    } finally {
      submit.disabled = false
    }
  })
  return h(
    "section",
    { class: "card" },
    h("h2", {}, "Token"),
    h("dl", { class: "details" }, definition("Current", h("code", {}, bot.tokenHint))),
    form
  )
}

const dangerCard = (bot, navigate) =>
  h(
    "section",
    { class: "card danger-zone" },
    h("h2", {}, "Delete"),
    h(
      "p",
      { class: "muted" },
      "Deletes the bot with all its chats and messages. To keep the history, disable it instead."
    ),
    actionButton(
      "Delete bot…",
      async () => {
        const confirmed = await confirmDialog({
          title: `Delete ${bot.name}?`,
          text: "Its chats, messages and pending updates are deleted for good, and the token is forgotten. This cannot be undone.",
          confirmLabel: "Delete for good",
          typeToConfirm: bot.name
        })
        if (!confirmed) return
        try {
          await api.delete(`/api/bots/${bot.id}`)
          toast(`${bot.name} deleted`)
          navigate("/admin")
        } catch (error) {
          toast(error.message, "bad")
        }
      },
      { class: "danger" }
    )
  )

export const render = async (container, context) => {
  const { params, navigate, isActive, features, session } = context
  // A viewer sees the settings, read only, and none of the controls.
  const operates = can(session, "operate")
  append(container, loading())
  let bot
  let providers = []
  let limits = new Map()
  let mcpServers = []
  let knowledgeBases = []
  try {
    ;[bot, providers, limits, mcpServers, knowledgeBases] = await Promise.all([
      api.get(`/api/bots/${params.id}`),
      features.has("providers") ? api.get("/api/providers") : [],
      botFieldLimits(),
      features.has("mcpServers") ? api.get("/api/mcp-servers") : [],
      features.has("knowledge") ? api.get("/api/knowledge-bases") : []
    ])
  } catch (error) {
    replace(container, pageHeader("Bot", { back: { href: "/admin", label: "Bots" } }), errorNotice(error))
    return
  }
  if (!isActive()) return

  let webhookSlot = null
  const refresh = async () => {
    if (!isActive()) return
    try {
      const fresh = await api.get(`/api/bots/${bot.id}`)
      if (!isActive()) return
      // Only the Telegram card: the form may hold edits in progress.
      bot = { ...bot, webhook: fresh.webhook }
      const card = webhookCard(bot)
      webhookSlot.replaceWith(card)
      webhookSlot = card
    } catch {
      // The page keeps what it shows; the next action reports any problem.
    }
  }

  const draw = () => {
    const toggle =
      operates &&
      actionButton(
        bot.active ? "Disable" : "Enable",
        async () => {
          try {
            bot = {
              ...(await api.post(`/api/bots/${bot.id}/${bot.active ? "disable" : "enable"}`)),
              webhook: bot.webhook
            }
            toast(bot.active ? `${bot.name} is enabled` : `${bot.name} is disabled`)
            draw()
            // Telegram's webhook follows about a second later (the effect runner); show it then.
            setTimeout(refresh, WEBHOOK_LAG_MS)
          } catch (error) {
            toast(error.message, "bad")
          }
        },
        { class: bot.active ? "secondary" : "primary" }
      )
    const chatsLink = h(
      "a",
      { class: "button secondary", href: `/admin/chats${query({ botId: bot.id })}` },
      "Chats"
    )
    const usersLink = h("a", { class: "button secondary", href: `/admin/bots/${bot.id}/users` }, "Users")
    const { fields, inputs, sections } = botFormSections(
      bot,
      {},
      {
        features,
        providers,
        limits,
        mcpServers,
        knowledgeBases
      }
    )
    webhookSlot = webhookCard(bot)
    const problem = h("div", { class: "form-problem" })
    const save = h("button", { type: "submit", class: "primary" }, "Save changes")
    let clearInvalid = () => {}
    const form = h(
      "form",
      { class: "card form", "aria-label": "Settings" },
      operates ? sections : h("fieldset", { class: "plain", disabled: true }, sections),
      problem,
      operates ? h("div", { class: "form-actions" }, save) : null
    )
    form.addEventListener("submit", async (event) => {
      event.preventDefault()
      problem.replaceChildren()
      clearInvalid()
      const body = bodyFrom(fields, inputs, bot)
      if (Object.keys(body).length === 0) {
        toast("Nothing to save: no field changed", "neutral")
        return
      }
      save.disabled = true
      save.textContent = "Saving…"
      try {
        bot = { ...(await api.patch(`/api/bots/${bot.id}`, body)), webhook: bot.webhook }
        toast("Saved")
        draw()
      } catch (error) {
        problem.replaceChildren(errorNotice(error))
        clearInvalid = markInvalidField(inputs, error)
        save.disabled = false
        save.textContent = "Save changes"
      }
    })
    replace(
      container,
      pageHeader(bot.name, {
        back: { href: "/admin", label: "Bots" },
        subtitle: h("span", { class: "inline-list" }, `@${bot.username}`, botStatus(bot)),
        actions: [chatsLink, usersLink, toggle]
      }),
      bot.lastError
        ? h(
            "div",
            { class: "notice notice-error", role: "alert" },
            h("strong", {}, "Stopped: "),
            bot.lastError,
            bot.lastErrorAt ? h("span", { class: "code" }, dateTime(bot.lastErrorAt)) : null
          )
        : null,
      h(
        "div",
        { class: "split" },
        form,
        h(
          "div",
          { class: "side" },
          webhookSlot,
          operates &&
            tokenCard(bot, (changed) => {
              bot = { ...changed, webhook: bot.webhook }
              draw()
            }),
          operates && dangerCard(bot, navigate)
        )
      )
    )
  }
  draw()
}
