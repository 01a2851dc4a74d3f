/**
 * Add or edit one provider. The server checks the base URL and key
 * with GET /models before it stores anything. Deleting a provider that bots
 * use is refused; the refusal names them.
 */
import { api } from "../api.js"
import { append, h, replace } from "../dom.js"
import { parsePrices, pricesText } from "../prices.js"
import { actionButton, confirmDialog, errorNotice, loading, pageHeader, toast } from "../ui.js"

const back = { href: "/admin/providers", label: "Providers" }

const field = (id, label, input, help) => {
  if (help) input.setAttribute("aria-describedby", `${id}-help`)
  return h(
    "div",
    { class: "field" },
    h("label", { for: id }, label),
    input,
    help ? h("p", { class: "help", id: `${id}-help` }, help) : null
  )
}

/** Which input an API error is about: the field of a 400, or the one a code points at. */
const FIELD_OF_CODE = {
  name_taken: "name",
  invalid_api_key: "apiKey",
  api_key_required: "apiKey",
  invalid_base_url: "baseUrl",
  url_not_allowed: "baseUrl"
}

const inputsFor = (provider) => ({
  name: h("input", {
    id: "provider-name",
    required: true,
    maxlength: 64,
    autocomplete: "off",
    value: provider?.name ?? ""
  }),
  baseUrl: h("input", {
    id: "provider-baseUrl",
    type: "url",
    required: true,
    maxlength: 2000,
    autocomplete: "off",
    spellcheck: "false",
    placeholder: "http://127.0.0.1:11434/v1",
    value: provider?.baseUrl ?? ""
  }),
  apiKey: h("input", {
    id: "provider-apiKey",
    type: "password",
    required: !provider,
    maxlength: 1000,
    autocomplete: "off",
    spellcheck: "false",
    placeholder: provider ? `Keep the key ending ${provider.apiKeyHint}` : "sk-…"
  }),
  defaultModel: h("input", {
    id: "provider-defaultModel",
    maxlength: 200,
    autocomplete: "off",
    placeholder: "e.g. llama3.1",
    value: provider?.defaultModel ?? ""
  }),
  prices: h("textarea", { id: "provider-prices", rows: 3, spellcheck: "false" })
})

/** POST: every filled field. PATCH: only what changed (an empty key keeps the stored one). */
const bodyFrom = (inputs, provider) => {
  const parsed = parsePrices(inputs.prices.value)
  if (parsed.error) return { error: parsed.error }
  const values = {
    name: inputs.name.value.trim(),
    baseUrl: inputs.baseUrl.value.trim(),
    apiKey: inputs.apiKey.value.trim(),
    defaultModel: inputs.defaultModel.value.trim() === "" ? null : inputs.defaultModel.value.trim(),
    prices: parsed.prices
  }
  if (!provider) {
    const { defaultModel, prices, ...required } = values
    return {
      body: {
        ...required,
        ...(defaultModel === null ? {} : { defaultModel }),
        ...(Object.keys(prices).length === 0 ? {} : { prices })
      }
    }
  }
  const body = {}
  if (values.name !== provider.name) body.name = values.name
  if (values.baseUrl !== provider.baseUrl) body.baseUrl = values.baseUrl
  if (values.apiKey !== "") body.apiKey = values.apiKey
  if (values.defaultModel !== provider.defaultModel) body.defaultModel = values.defaultModel
  if (JSON.stringify(values.prices) !== JSON.stringify(provider.prices)) body.prices = values.prices
  return { body }
}

export const render = async (container, { params, navigate, isActive }) => {
  const creating = params.id === undefined
  let provider = null
  if (!creating) {
    append(container, loading())
    try {
      provider = await api.get(`/api/providers/${params.id}`)
    } catch (error) {
      replace(container, pageHeader("Provider", { back }), errorNotice(error))
      return
    }
    if (!isActive()) return
  }

  const inputs = inputsFor(provider)
  inputs.prices.value = pricesText(provider?.prices)
  const problem = h("div", { class: "form-problem" })
  const submit = h("button", { type: "submit", class: "primary" }, creating ? "Add provider" : "Save changes")
  let clearInvalid = () => {}
  const form = h(
    "form",
    { class: "card form narrow-form", "aria-label": "Provider" },
    h(
      "fieldset",
      { class: "form-section" },
      h("legend", {}, "Server"),
      h(
        "p",
        { class: "section-text" },
        "Any OpenAI-compatible API: Ollama, vLLM, llama.cpp, LM Studio, OpenRouter, OpenAI itself…"
      ),
      h(
        "div",
        { class: "fields" },
        field("provider-name", "Name", inputs.name, "How bots' settings name it; unique."),
        field(
          "provider-baseUrl",
          "Base URL",
          inputs.baseUrl,
          "The API root, usually ending in /v1. It must answer GET /models."
        ),
        field(
          "provider-apiKey",
          "API key",
          inputs.apiKey,
          creating
            ? "Checked with the server, stored encrypted, never shown again. A server without keys (Ollama) takes any text."
            : "Leave empty to keep the stored key (not with a new base URL: the stored key goes only to its own server). A new key is checked with the server before it is saved."
        )
      )
    ),
    h(
      "fieldset",
      { class: "form-section" },
      h("legend", {}, "Models and prices"),
      h(
        "p",
        { class: "section-text" },
        "What its bots ask for when they name no model, and what answers cost."
      ),
      h(
        "div",
        { class: "fields" },
        field(
          "provider-defaultModel",
          "Default model",
          inputs.defaultModel,
          "Empty: bots of this provider must name their model (else OPENAI_MODEL is asked for)."
        ),
        field(
          "provider-prices",
          "Prices (USD per million tokens)",
          inputs.prices,
          "One model=input/output per line, as OPENAI_PRICES, e.g. llama3.1=0/0. Models not listed cost what the built-in table says, or nothing."
        )
      )
    ),
    problem,
    h(
      "div",
      { class: "form-actions" },
      h("a", { class: "button secondary", href: "/admin/providers" }, "Cancel"),
      submit
    )
  )

  form.addEventListener("submit", async (event) => {
    event.preventDefault()
    clearInvalid()
    problem.replaceChildren()
    const { body, error } = bodyFrom(inputs, provider)
    if (error) {
      problem.replaceChildren(errorNotice({ message: error, code: "invalid_prices" }))
      inputs.prices.setAttribute("aria-invalid", "true")
      inputs.prices.focus()
      clearInvalid = () => inputs.prices.removeAttribute("aria-invalid")
      return
    }
    if (!creating && Object.keys(body).length === 0) {
      toast("Nothing to save: no field changed", "neutral")
      return
    }
    submit.disabled = true
    submit.textContent = body.baseUrl || body.apiKey ? "Checking the server…" : "Saving…"
    try {
      const saved = creating
        ? await api.post("/api/providers", body)
        : await api.patch(`/api/providers/${provider.id}`, body)
      toast(creating ? `${saved.name} added` : "Saved")
      navigate("/admin/providers")
    } catch (failure) {
      problem.replaceChildren(errorNotice(failure))
      const name = FIELD_OF_CODE[failure.code] ?? /\["(\w+)"/.exec(failure.message ?? "")?.[1]
      const input = name ? inputs[name] : undefined
      if (input) {
        input.setAttribute("aria-invalid", "true")
        input.focus()
        clearInvalid = () => input.removeAttribute("aria-invalid")
      }
      submit.disabled = false
      submit.textContent = creating ? "Add provider" : "Save changes"
    }
  })

  const remove = creating
    ? null
    : actionButton(
        "Delete provider",
        async () => {
          const confirmed = await confirmDialog({
            title: `Delete ${provider.name}?`,
            text: "Its key is forgotten. Bots must be moved to another provider first.",
            confirmLabel: "Delete"
          })
          if (!confirmed) return
          problem.replaceChildren()
          try {
            await api.delete(`/api/providers/${provider.id}`)
            toast(`${provider.name} deleted`)
            navigate("/admin/providers")
          } catch (failure) {
            // 409 provider_in_use names the bots that still use it.
            problem.replaceChildren(errorNotice(failure))
          }
        },
        { class: "danger" }
      )

  replace(
    container,
    pageHeader(creating ? "Add a provider" : provider.name, {
      back,
      subtitle: creating
        ? "The server is asked for its models with this key before anything is stored."
        : `Key ending ${provider.apiKeyHint}. Used by ${
            provider.bots.length === 0 ? "no bot" : provider.bots.map((bot) => bot.name).join(", ")
          }.`,
      actions: remove
    }),
    form
  )
  inputs.name.focus()
}
