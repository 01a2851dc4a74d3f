/** Add a bot: its name and token (checked with Telegram), and optionally a model and a prompt. */
import { api } from "../api.js"
import { bodyFrom } from "../botFields.js"
import { botFormSections, markInvalidField } from "../botForm.js"
import { botFieldLimits } from "../capabilities.js"
import { append, h } from "../dom.js"
import { errorNotice, pageHeader, toast } from "../ui.js"

export const render = async (container, { navigate, features, isActive }) => {
  // The provider select lists them; without any, the server default is the only choice.
  const providers = features.has("providers") ? await api.get("/api/providers").catch(() => []) : []
  const limits = await botFieldLimits()
  if (!isActive()) return
  const token = h("input", {
    id: "bot-token",
    name: "token",
    type: "password",
    required: true,
    autocomplete: "off",
    spellcheck: "false",
    placeholder: "123456789:AA…",
    "aria-describedby": "bot-token-help"
  })
  const tokenRow = h(
    "div",
    { class: "field" },
    h("label", { for: "bot-token" }, "Token"),
    token,
    h(
      "p",
      { class: "help", id: "bot-token-help" },
      "From @BotFather in Telegram (/newbot). It is checked with Telegram and stored encrypted; it is never shown again."
    )
  )
  const { fields, inputs, sections } = botFormSections(
    null,
    { basics: [tokenRow] },
    { features, providers, limits }
  )
  const problem = h("div", { class: "form-problem" })
  const submit = h("button", { type: "submit", class: "primary" }, "Add bot")
  let clearInvalid = () => {}
  const form = h(
    "form",
    { class: "card form narrow-form" },
    sections,
    problem,
    h(
      "div",
      { class: "form-actions" },
      h("a", { class: "button secondary", href: "/admin" }, "Cancel"),
      submit
    )
  )
  form.addEventListener("submit", async (event) => {
    event.preventDefault()
    clearInvalid()
    submit.disabled = true
    submit.textContent = "Checking the token…"
    problem.replaceChildren()
    try {
      const bot = await api.post("/api/bots", {
        ...bodyFrom(fields, inputs, null),
        token: token.value.trim()
      })
      toast(`${bot.name} (@${bot.username}) added. Enable it when it is ready.`)
      navigate(`/admin/bots/${bot.id}`)
    } catch (error) {
      problem.replaceChildren(errorNotice(error))
      clearInvalid = markInvalidField(new Map([...inputs, ["token", token]]), error)
    } finally {
      submit.disabled = false
      submit.textContent = "Add bot"
    }
  })
  append(
    container,
    pageHeader("Add a bot", {
      back: { href: "/admin", label: "Bots" },
      subtitle: "The bot starts disabled: check its settings, then enable it to start answering."
    }),
    form
  )
  inputs.get("name").focus()
}
