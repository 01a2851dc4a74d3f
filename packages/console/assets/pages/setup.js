/**
 * The first run: the one-time link from the start-up log (`/admin/setup#<token>`)
 * creates the owner account, then signs in. The token stays in the fragment,
 * which browsers never send, and is taken off the address bar at once.
 */
import { api } from "../api.js"
import { h } from "../dom.js"
import { errorNotice, signInCard } from "../ui.js"

const PASSWORD_MIN = 12

const field = (id, label, attributes) =>
  h("div", { class: "field" }, h("label", { for: id }, label), h("input", { id, name: id, ...attributes }))

export const render = (container, { navigate, signedIn }) => {
  document.title = "Set up · Botfleet"
  const token = location.hash.slice(1)
  if (token !== "") history.replaceState(null, "", "/admin/setup")
  if (token === "") {
    container.replaceChildren(
      signInCard(
        h("h1", { tabindex: "-1" }, "Open the setup link"),
        h(
          "p",
          { class: "subtitle" },
          "The server prints a one-time setup link in its log at start-up while no admin exists (the line that says “no admin yet”). Open that link to create the owner account."
        ),
        h("p", {}, h("a", { href: "/admin/sign-in" }, "Sign in instead"))
      )
    )
    return
  }
  const email = field("email", "Email", { type: "email", autocomplete: "username", required: true })
  const password = field("password", "Password", {
    type: "password",
    autocomplete: "new-password",
    minlength: String(PASSWORD_MIN),
    required: true
  })
  const repeat = field("repeat", "Password again", {
    type: "password",
    autocomplete: "new-password",
    required: true
  })
  const [emailInput, passwordInput, repeatInput] = [email, password, repeat].map((f) =>
    f.querySelector("input")
  )
  const problem = h("div", { class: "form-problem" })
  const submit = h("button", { type: "submit", class: "primary wide" }, "Create the owner account")
  const form = h(
    "form",
    { class: "stack" },
    email,
    password,
    h("p", { class: "help" }, `At least ${PASSWORD_MIN} characters.`),
    repeat,
    problem,
    submit
  )
  form.addEventListener("submit", async (event) => {
    event.preventDefault()
    problem.replaceChildren()
    if (passwordInput.value !== repeatInput.value) {
      problem.replaceChildren(errorNotice({ message: "The two passwords differ." }))
      repeatInput.select()
      return
    }
    submit.disabled = true
    submit.textContent = "Creating…"
    const credentials = { email: emailInput.value.trim(), password: passwordInput.value }
    try {
      await api.post("/api/setup", { token, ...credentials })
      signedIn(await api.post("/api/auth/login", credentials))
      navigate("/admin", { replace: true })
    } catch (error) {
      problem.replaceChildren(errorNotice(error))
      submit.disabled = false
      submit.textContent = "Create the owner account"
    }
  })
  container.replaceChildren(
    signInCard(
      h("h1", { tabindex: "-1" }, "Create the owner account"),
      h(
        "p",
        { class: "subtitle" },
        "This link works once. The owner manages everything, including other admins."
      ),
      form
    )
  )
  emailInput.focus()
}
