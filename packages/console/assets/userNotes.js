/**
 * The notes a bot keeps about one user (its remember tool), as a card: each
 * with its date and, for operators, a Delete button. The user sees and
 * deletes the same notes with /memory in Telegram.
 */
import { api } from "./api.js"
import { h, replace } from "./dom.js"
import { dateTime } from "./format.js"
import { actionButton, errorNotice, loading, toast } from "./ui.js"

export const notesCard = ({ botId, userId, operates }) => {
  const body = h("div", {}, loading())
  const base = `/api/bots/${botId}/users/${userId}/notes`

  const draw = (notes) => {
    if (notes.length === 0) {
      replace(body, h("p", { class: "muted" }, "The bot keeps no notes about this user."))
      return
    }
    replace(
      body,
      h(
        "ul",
        { class: "plain-list" },
        notes.map((note) =>
          h(
            "li",
            {},
            h("span", {}, note.text),
            " ",
            h("span", { class: "muted small-text" }, dateTime(note.createdAt)),
            operates
              ? actionButton(
                  "Delete",
                  async () => {
                    try {
                      await api.delete(`${base}/${note.id}`)
                      toast("Note deleted")
                      await load()
                    } catch (error) {
                      toast(error.message, "bad")
                    }
                  },
                  { class: "link-button", "aria-label": `Delete the note "${note.text}"` }
                )
              : null
          )
        )
      )
    )
  }

  const load = async () => {
    try {
      draw(await api.get(base))
    } catch (error) {
      replace(body, errorNotice(error))
    }
  }

  void load()
  return h(
    "section",
    { class: "card" },
    h("h2", {}, "What the bot remembers"),
    h(
      "p",
      { class: "muted small-text" },
      "Notes kept with the remember tool; the user sees them with /memory."
    ),
    body
  )
}
