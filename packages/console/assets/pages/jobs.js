/**
 * The fleet's scheduled jobs (retention, watchdog, digest...): when each last
 * ran, how it went and how long it took. Refreshed every 10 s while open.
 */
import { api } from "../api.js"
import { append, h, replace } from "../dom.js"
import { ago, dateTime, milliseconds } from "../format.js"
import { badge, dataTable, emptyState, errorNotice, loading, pageHeader } from "../ui.js"

const REFRESH_MS = 10_000

const every = (seconds) => {
  if (seconds % 86_400 === 0) return seconds === 86_400 ? "daily" : `every ${seconds / 86_400} days`
  if (seconds % 3600 === 0) return seconds === 3600 ? "hourly" : `every ${seconds / 3600} h`
  if (seconds % 60 === 0) return seconds === 60 ? "every minute" : `every ${seconds / 60} min`
  return `every ${seconds} s`
}

const OUTCOMES = {
  ok: ["OK", "good"],
  failed: ["Failed", "bad"],
  running: ["Running", "neutral"]
}

const rowOf = (job) => {
  const run = job.lastRun
  const [label, tone] = run ? OUTCOMES[run.outcome] : ["Not run yet", "neutral"]
  return h(
    "tr",
    { dataset: { job: job.name } },
    h(
      "td",
      { class: "bot-cell" },
      h("span", { class: "row-title" }, job.name),
      h("span", { class: "muted" }, every(job.everySeconds))
    ),
    h(
      "td",
      { "data-label": "Last run" },
      run ? h("span", { title: dateTime(run.startedAt) }, ago(run.startedAt)) : "never"
    ),
    h("td", { "data-label": "Outcome" }, badge(label, tone)),
    h("td", { class: "num", "data-label": "Duration" }, run ? milliseconds(run.durationMs) : "–"),
    h(
      "td",
      { "data-label": "Detail" },
      run?.detail ? h("span", { class: run.outcome === "failed" ? "text-bad" : "" }, run.detail) : "–"
    ),
    h("td", { "data-label": "Next" }, dateTime(job.nextTick))
  )
}

export const render = async (container, { isActive, onLeave }) => {
  const body = h("div", {}, loading())
  append(
    container,
    pageHeader("Jobs", {
      subtitle:
        "Recurring work the server does on its own, once per tick across all its processes. Times are yours; ticks are UTC."
    }),
    body
  )
  const rows = h("tbody")
  const draw = async () => {
    let jobs
    try {
      jobs = (await api.get("/api/jobs")).items
    } catch (error) {
      replace(body, errorNotice(error))
      return
    }
    if (!isActive()) return
    if (jobs.length === 0) {
      replace(body, emptyState("No jobs", "This server has no scheduled jobs."))
      return
    }
    replace(rows, jobs.map(rowOf))
    if (!body.contains(rows)) {
      replace(
        body,
        dataTable(
          ["Job", "Last run", "Outcome", { label: "Duration", num: true }, "Detail", "Next tick"],
          rows
        )
      )
    }
  }
  await draw()
  const timer = setInterval(() => {
    if (!document.hidden) void draw()
  }, REFRESH_MS)
  onLeave(() => clearInterval(timer))
}
