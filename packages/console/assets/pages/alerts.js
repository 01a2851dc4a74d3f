/**
 * Where alerts (a bot stopped, the LLM failing, a backlog, a spike of
 * failures) and the daily digest go: a webhook, and/or Telegram chats
 * written to by one of the fleet's bots; and how often the same alert may repeat.
 */
import { api } from "../api.js"
import { IDS_PATTERN, parseIds } from "../botFields.js"
import { append, h, replace } from "../dom.js"
import { errorNotice, loading, pageHeader, toast } from "../ui.js"

const field = (id, label, input, help) =>
  h(
    "div",
    { class: "field" },
    h("label", { for: id }, label),
    input,
    help ? h("p", { class: "help", id: `${id}-help` }, help) : null
  )

/** Only what changed: the webhook URL is never shown whole, so an empty input keeps it. */
const bodyFrom = (settings, inputs) => {
  const body = {}
  const url = inputs.webhookUrl.value.trim()
  if (inputs.removeWebhook?.checked) body.webhookUrl = null
  else if (url !== "") body.webhookUrl = url
  const botId = inputs.telegramBotId.value === "" ? null : inputs.telegramBotId.value
  if (botId !== settings.telegramBotId) body.telegramBotId = botId
  const chatIds = parseIds(inputs.telegramChatIds.value)
  if (JSON.stringify(chatIds) !== JSON.stringify(settings.telegramChatIds)) body.telegramChatIds = chatIds
  const cooldown = Number(inputs.cooldownMinutes.value)
  if (cooldown !== settings.cooldownMinutes) body.cooldownMinutes = cooldown
  return body
}

export const render = async (container, { isActive }) => {
  append(container, loading())
  let settings
  let bots
  try {
    ;[settings, bots] = await Promise.all([api.get("/api/settings/alerts"), api.get("/api/bots")])
  } catch (error) {
    replace(container, pageHeader("Alerts"), errorNotice(error))
    return
  }
  if (!isActive()) return

  const draw = () => {
    const inputs = {
      webhookUrl: h("input", {
        id: "alert-webhook",
        type: "url",
        autocomplete: "off",
        spellcheck: "false",
        maxlength: 2000,
        placeholder: settings.webhookUrl
          ? `Keep ${settings.webhookUrl}`
          : "https://hooks.slack.com/services/…",
        "aria-describedby": "alert-webhook-help"
      }),
      removeWebhook: settings.webhookUrl
        ? h("input", { id: "alert-webhook-remove", type: "checkbox" })
        : null,
      telegramBotId: h(
        "select",
        { id: "alert-bot", "aria-describedby": "alert-bot-help" },
        h("option", { value: "" }, "None: no Telegram alerts"),
        bots.map((bot) => h("option", { value: bot.id }, `${bot.name} (@${bot.username})`))
      ),
      telegramChatIds: h("input", {
        id: "alert-chats",
        inputmode: "numeric",
        autocomplete: "off",
        pattern: IDS_PATTERN,
        title: "Numbers separated by commas or spaces",
        placeholder: "e.g. 123456789",
        value: settings.telegramChatIds.join(", "),
        "aria-describedby": "alert-chats-help"
      }),
      cooldownMinutes: h("input", {
        id: "alert-cooldown",
        type: "number",
        min: 1,
        max: 10080,
        step: 1,
        required: true,
        value: String(settings.cooldownMinutes),
        "aria-describedby": "alert-cooldown-help"
      })
    }
    inputs.telegramBotId.value = settings.telegramBotId ?? ""

    const problem = h("div", { class: "form-problem" })
    const save = h("button", { type: "submit", class: "primary" }, "Save")
    const form = h(
      "form",
      { class: "card form narrow-form", "aria-label": "Alert settings" },
      h(
        "fieldset",
        { class: "form-section" },
        h("legend", {}, "Webhook"),
        h(
          "p",
          { class: "section-text" },
          "Each alert is POSTed as JSON { kind, severity, botId, text, at }: Slack and Mattermost incoming webhooks show its text."
        ),
        h(
          "div",
          { class: "fields" },
          field(
            "alert-webhook",
            "Webhook URL",
            inputs.webhookUrl,
            settings.webhookUrl
              ? `Alerts go to ${settings.webhookUrl} (the rest of the URL is kept secret). Type a new URL to replace it; leave empty to keep it.`
              : "No webhook yet. The URL is stored encrypted; only its address is shown afterwards."
          ),
          inputs.removeWebhook
            ? h(
                "div",
                { class: "field field-check" },
                inputs.removeWebhook,
                h("label", { for: "alert-webhook-remove" }, "Remove the webhook")
              )
            : null
        )
      ),
      h(
        "fieldset",
        { class: "form-section" },
        h("legend", {}, "Telegram"),
        h("p", { class: "section-text" }, "One of your bots writes each alert to these chats."),
        h(
          "div",
          { class: "fields" },
          field(
            "alert-bot",
            "Bot that sends alerts",
            inputs.telegramBotId,
            "The people below must have started this bot (or it must be in the group)."
          ),
          field(
            "alert-chats",
            "Chat ids",
            inputs.telegramChatIds,
            "Telegram ids of people or groups, separated by commas or spaces (at most 20). A person's id is on the Users page of a bot."
          )
        )
      ),
      h(
        "fieldset",
        { class: "form-section" },
        h("legend", {}, "Repeats"),
        h("p", { class: "section-text" }, "How often the same alert may come again."),
        h(
          "div",
          { class: "fields" },
          field(
            "alert-cooldown",
            "Cooldown (minutes)",
            inputs.cooldownMinutes,
            "The same kind of alert about the same bot is sent at most once in this time (1–10080). A “resolved” notice follows when the problem is gone."
          )
        )
      ),
      problem,
      h("div", { class: "form-actions" }, save)
    )
    form.addEventListener("submit", async (event) => {
      event.preventDefault()
      problem.replaceChildren()
      const body = bodyFrom(settings, inputs)
      if (Object.keys(body).length === 0) {
        toast("Nothing to save: no field changed", "neutral")
        return
      }
      save.disabled = true
      try {
        settings = await api.put("/api/settings/alerts", body)
        toast("Saved")
        draw()
      } catch (error) {
        problem.replaceChildren(errorNotice(error))
        save.disabled = false
      }
    })
    replace(
      container,
      pageHeader("Alerts", {
        subtitle:
          "Where the server tells a person that a bot stopped, the model keeps failing, messages pile up or failures spike, and where the daily digest goes."
      }),
      form
    )
  }
  draw()
}
