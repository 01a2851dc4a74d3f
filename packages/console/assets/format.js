/** Numbers, money, times and names as the console shows them. */

const integer = new Intl.NumberFormat("en-US")

export const count = (value) => integer.format(value)

/** Dollars: cents for normal amounts, more digits for the tiny costs of single replies. */
export const usd = (value) => {
  if (value === 0) return "$0.00"
  if (Math.abs(value) < 0.01) return `$${value.toPrecision(2)}`
  return new Intl.NumberFormat("en-US", { style: "currency", currency: "USD" }).format(value)
}

export const milliseconds = (value) =>
  value === null || value === undefined
    ? "–"
    : value < 1000
      ? `${Math.round(value)} ms`
      : `${(value / 1000).toFixed(1)} s`

const dateTimeFormat = new Intl.DateTimeFormat("en-GB", {
  day: "numeric",
  month: "short",
  hour: "2-digit",
  minute: "2-digit"
})
const timeFormat = new Intl.DateTimeFormat("en-GB", { hour: "2-digit", minute: "2-digit" })

export const dateTime = (iso) => (iso ? dateTimeFormat.format(new Date(iso)) : "–")

export const time = (iso) => (iso ? timeFormat.format(new Date(iso)) : "")

/** "just now", "5 min ago", "3 h ago", else the date. */
export const ago = (iso) => {
  if (!iso) return "never"
  const seconds = (Date.now() - Date.parse(iso)) / 1000
  if (seconds < 45) return "just now"
  if (seconds < 3600) return `${Math.round(seconds / 60)} min ago`
  if (seconds < 86_400) return `${Math.round(seconds / 3600)} h ago`
  return dateTime(iso)
}

/** "Ann Lee (@ann)" or the group title. */
export const chatName = (chat) => {
  if (chat.user) return userName(chat.user)
  return chat.title ?? `Chat ${chat.telegramChatId}`
}

export const userName = (user) => {
  const full = [user.firstName, user.lastName].filter(Boolean).join(" ")
  return user.username ? `${full} (@${user.username})` : full
}

/** "0:12", "1:05:09": a recording's length. */
export const duration = (seconds) => {
  const total = Math.round(seconds)
  const hours = Math.floor(total / 3600)
  const minutes = Math.floor((total % 3600) / 60)
  const secs = String(total % 60).padStart(2, "0")
  return hours > 0 ? `${hours}:${String(minutes).padStart(2, "0")}:${secs}` : `${minutes}:${secs}`
}

const KIND_LABELS = {
  voice: "voice",
  audio: "audio",
  video_note: "video note",
  photo: "photo",
  other: "other media"
}

/** The forum topic a message belongs to, e.g. "topic 12"; null outside topics. */
export const topicLabel = (message) =>
  message.topicId === null || message.topicId === undefined ? null : `topic ${message.topicId}`

/** What a non-text message carried, e.g. "voice 0:12"; null for plain text. */
export const kindLabel = (message) => {
  const label = KIND_LABELS[message.kind]
  if (!label) return null
  return message.mediaSeconds === null || message.mediaSeconds === undefined
    ? label
    : `${label} ${duration(message.mediaSeconds)}`
}
