/** Sign in with the admin's email and password; the API sets the session cookie. */
import { api } from "../api.js"
import { h } from "../dom.js"
import { errorNotice, signInCard } from "../ui.js"

export const render = (container, { query, navigate, signedIn }) => {
  document.title = "Sign in · Botfleet"
  const email = h("input", {
    id: "email",
    name: "email",
    type: "email",
    autocomplete: "username",
    required: true
  })
  const password = h("input", {
    id: "password",
    name: "password",
    type: "password",
    autocomplete: "current-password",
    required: true
  })
  const problem = h("div", { class: "form-problem" })
  const submit = h("button", { type: "submit", class: "primary wide" }, "Sign in")
  const form = h(
    "form",
    { class: "stack", novalidate: false },
    h("div", { class: "field" }, h("label", { for: "email" }, "Email"), email),
    h("div", { class: "field" }, h("label", { for: "password" }, "Password"), password),
    problem,
    submit
  )
  form.addEventListener("submit", async (event) => {
    event.preventDefault()
    submit.disabled = true
    submit.textContent = "Signing in…"
    problem.replaceChildren()
    try {
      const admin = await api.post("/api/auth/login", { email: email.value.trim(), password: password.value })
      signedIn(admin)
      const next = query.get("next")
      navigate(next?.startsWith("/admin") ? next : "/admin", { replace: true })
    } catch (error) {
      problem.replaceChildren(errorNotice(error))
      password.select()
    } finally {
      submit.disabled = false
      submit.textContent = "Sign in"
    }
  })
  const subtitle = h("p", { class: "subtitle" }, "Use your admin account.")
  // Before the first admin exists there is nothing to sign in with: say where the setup link is.
  api
    .get("/api/setup")
    .then(({ needed }) => {
      if (needed)
        subtitle.replaceChildren(
          "No admin account exists yet. Open the one-time setup link the server printed in its log at start-up (the line that says “no admin yet”), or start it with ADMIN_EMAIL and ADMIN_PASSWORD."
        )
    })
    .catch(() => {})
  container.replaceChildren(signInCard(h("h1", { tabindex: "-1" }, "Sign in to the console"), subtitle, form))
  email.focus()
}
