/**
 * Bar charts drawn as inline SVG at the width they get (redrawn on resize),
 * so labels keep their size on a phone. Each bar has a tooltip (<title>).
 */
import { h, s } from "./dom.js"

const HEIGHT = 200
const MARGIN = { top: 12, right: 8, bottom: 26 }
/** Roughly the width of one character of the 11 px axis labels. */
const LABEL_CHAR_WIDTH = 6.6

/** A round step so that about `ticks` gridlines cover 0..max. */
const niceStep = (max, ticks) => {
  const raw = max / ticks
  const magnitude = 10 ** Math.floor(Math.log10(raw))
  const normalized = raw / magnitude
  const nice = normalized <= 1 ? 1 : normalized <= 2 ? 2 : normalized <= 5 ? 5 : 10
  return nice * magnitude
}

const shortDate = (date) =>
  new Intl.DateTimeFormat("en-GB", { day: "numeric", month: "short", timeZone: "UTC" }).format(
    new Date(`${date}T00:00:00Z`)
  )

const draw = (width, { series, bars, format }) => {
  const max = Math.max(...series.flatMap((point) => bars.map((bar) => point[bar.key])), 0)
  const step = max === 0 ? 1 : niceStep(max, 4)
  const top = max === 0 ? 4 : Math.ceil(max / step) * step
  const ticks = Array.from({ length: Math.round(top / step) + 1 }, (_, index) => index * step)
  // The left margin fits the longest axis label (tiny dollar amounts are long).
  const marginLeft = Math.ceil(
    12 + Math.max(...ticks.map((value) => format(value).length)) * LABEL_CHAR_WIDTH
  )
  const innerWidth = Math.max(width - marginLeft - MARGIN.right, 10)
  const innerHeight = HEIGHT - MARGIN.top - MARGIN.bottom
  const y = (value) => MARGIN.top + innerHeight - (value / top) * innerHeight
  const slot = innerWidth / Math.max(series.length, 1)
  const groupWidth = Math.min(slot * 0.7, 56)
  const barWidth = groupWidth / bars.length
  const labelEvery = Math.ceil(series.length / Math.max(Math.floor(innerWidth / 56), 1))

  const grid = ticks.map((value) =>
    s(
      "g",
      {},
      s("line", { class: "grid", x1: marginLeft, x2: width - MARGIN.right, y1: y(value), y2: y(value) }),
      s("text", { class: "axis", x: marginLeft - 8, y: y(value) + 4, "text-anchor": "end" }, format(value))
    )
  )
  const columns = series.map((point, index) => {
    const left = marginLeft + index * slot + (slot - groupWidth) / 2
    return s(
      "g",
      {},
      bars.map((bar, barIndex) => {
        const value = point[bar.key]
        const height = Math.max(y(0) - y(value), value > 0 ? 1.5 : 0)
        return s(
          "rect",
          {
            class: `bar ${bar.className}`,
            x: left + barIndex * barWidth,
            y: y(0) - height,
            width: Math.max(barWidth - 2, 1),
            height,
            rx: 2
          },
          s("title", {}, `${shortDate(point.date)} · ${bar.label}: ${format(value)}`)
        )
      }),
      index % labelEvery === 0
        ? s(
            "text",
            { class: "axis", x: left + groupWidth / 2, y: HEIGHT - 8, "text-anchor": "middle" },
            shortDate(point.date)
          )
        : null
    )
  })
  return s(
    "svg",
    { width, height: HEIGHT, viewBox: `0 0 ${width} ${HEIGHT}`, "aria-hidden": "true" },
    grid,
    columns
  )
}

/**
 * A titled chart of `series` (one entry per day) with a bar per `bars` entry
 * ({ key, label, className }). `summary` is what screen readers hear.
 */
export const barChart = ({ title, summary, series, bars, format }) => {
  const canvas = h("div", { class: "chart-canvas", role: "img", "aria-label": summary })
  const legend =
    bars.length > 1
      ? h(
          "ul",
          { class: "legend" },
          bars.map((bar) => h("li", {}, h("span", { class: `swatch ${bar.className}` }), bar.label))
        )
      : null
  let lastWidth = 0
  const observer = new ResizeObserver(([entry]) => {
    const width = Math.floor(entry.contentRect.width)
    if (width === lastWidth || width === 0) return
    lastWidth = width
    canvas.replaceChildren(draw(width, { series, bars, format }))
  })
  observer.observe(canvas)
  return h("figure", { class: "card chart" }, h("figcaption", {}, h("h2", {}, title), legend), canvas)
}
