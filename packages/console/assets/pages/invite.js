/**
 * Accepting an invitation: the token comes in the URL's fragment (never sent
 * to a server, so never in a log); the invitee chooses a password and is
 * signed in with it.
 */
import { api } from "../api.js"
import { h } from "../dom.js"
import { errorNotice, signInCard } from "../ui.js"

export const render = (container, { navigate, signedIn }) => {
  document.title = "Accept your invitation · Botfleet"
  const token = location.hash.slice(1)
  // Out of the address bar and the history, now that it is read.
  history.replaceState(null, "", location.pathname)
  const password = h("input", {
    id: "new-password",
    name: "password",
    type: "password",
    autocomplete: "new-password",
    minlength: 12,
    required: true,
    "aria-describedby": "new-password-help"
  })
  const again = h("input", {
    id: "new-password-again",
    name: "again",
    type: "password",
    autocomplete: "new-password",
    required: true
  })
  const problem = h("div", { class: "form-problem" })
  const submit = h("button", { type: "submit", class: "primary wide" }, "Set password and sign in")
  const form = h(
    "form",
    { class: "stack" },
    h(
      "div",
      { class: "field" },
      h("label", { for: "new-password" }, "Password"),
      password,
      h("p", { class: "help", id: "new-password-help" }, "At least 12 characters.")
    ),
    h("div", { class: "field" }, h("label", { for: "new-password-again" }, "Password again"), again),
    problem,
    submit
  )
  form.addEventListener("submit", async (event) => {
    event.preventDefault()
    problem.replaceChildren()
    if (password.value !== again.value) {
      problem.replaceChildren(errorNotice({ message: "the two passwords differ" }))
      return
    }
    submit.disabled = true
    try {
      const admin = await api.post("/api/admins/invitations/accept", { token, password: password.value })
      signedIn(await api.post("/api/auth/login", { email: admin.email, password: password.value }))
      navigate("/admin", { replace: true })
    } catch (error) {
      problem.replaceChildren(errorNotice(error))
      submit.disabled = false
    }
  })
  container.replaceChildren(
    signInCard(
      h("h1", { tabindex: "-1" }, "Accept your invitation"),
      h(
        "p",
        { class: "subtitle" },
        token === ""
          ? "This page needs the whole link from your invitation; open it again from the message you got."
          : "Choose a password for your account. The owner who invited you chose your role; it shows once you are in."
      ),
      token === "" ? null : form
    )
  )
  password.focus()
}
